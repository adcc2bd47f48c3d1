/*
 * The queue's half of relaying: envelopes the scheduler makes due in
 * one round are gathered by message and destination, so that the mta
 * can give several recipients of one message to one host in a single
 * transaction, and handed over with the message file open read-only.
 * The mta answers once per recipient.  It faces remote servers, so an
 * answer is taken only for an envelope handed to it and not yet
 * answered, with a status the queue knows, and its text is cleaned
 * once more here before it reaches a log line, an envelope file or a
 * bounce.  Any other answer is logged and dropped.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <ctype.h>
#include <event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../smtpd/smtpd.h"
#include "queue_control.h"
#include "queue_dsn.h"
#include "queue_msg.h"
#include "queue_relay.h"
#include "queue_scheduler.h"

/* What one recipient adds to a transfer, at most, and the room for it. */
#define RELAY_RCPT_BYTES	(8 + 4 * 3 + ENVELOPE_ADDRMAX + 64 + \
				    ENVELOPE_ORCPTMAX)
#define RELAY_HEAD_BYTES	(4 * 8 + ENVELOPE_NAMEMAX + \
				    SMTP_DOMAIN_MAX + 3 * ENVELOPE_ADDRMAX + 64)

/* Recipients of one message for one destination, due in this round. */
struct relay_batch {
	TAILQ_ENTRY(relay_batch)	 entry;
	uint32_t			 msgid;
	char				 action[ENVELOPE_NAMEMAX];
	char				 domain[SMTP_DOMAIN_MAX + 1];
	struct envelope			**rcpts;
	size_t				 n, size;
};
static TAILQ_HEAD(, relay_batch)	 batches =
    TAILQ_HEAD_INITIALIZER(batches);
static struct event			 flush_ev;

/* An envelope handed to the mta, until its one answer. */
struct relay_sent {
	RB_ENTRY(relay_sent)	 node;
	uint64_t		 evpid;
};
RB_HEAD(relay_sent_tree, relay_sent);
static int
relay_sent_cmp(struct relay_sent *a, struct relay_sent *b)
{
	return a->evpid < b->evpid ? -1 : a->evpid > b->evpid;
}
RB_GENERATE_STATIC(relay_sent_tree, relay_sent, node, relay_sent_cmp);
static struct relay_sent_tree	 sent = RB_INITIALIZER(&sent);

static void
relay_sent_add(uint64_t evpid)
{
	struct relay_sent	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	r->evpid = evpid;
	if (RB_INSERT(relay_sent_tree, &sent, r) != NULL)
		fatalx("queue: evpid=%016" PRIx64 " handed to the mta twice",
		    evpid);
}

/* Whether evpid was handed to the mta and awaits its answer, now taken. */
static int
relay_sent_take(uint64_t evpid)
{
	struct relay_sent	 key, *r;

	key.evpid = evpid;
	if ((r = RB_FIND(relay_sent_tree, &sent, &key)) == NULL)
		return 0;
	RB_REMOVE(relay_sent_tree, &sent, r);
	free(r);
	return 1;
}

/* The destination: the recipient's domain, or "" for a smarthost. */
static void
relay_domain(const struct envelope *e, int smarthost, char *buf, size_t len)
{
	const char	*at;
	size_t		 i;

	buf[0] = '\0';
	if (smarthost || (at = strrchr(e->rcpt, '@')) == NULL)
		return;
	strlcpy(buf, at + 1, len);
	for (i = 0; buf[i] != '\0'; i++)
		buf[i] = tolower((unsigned char)buf[i]);
}

static void
relay_send(struct relay_batch *b, size_t from, size_t to, int fd)
{
	struct msg_transfer	 t;
	const struct envelope	*first = b->rcpts[from], *e;
	size_t			 i;

	memset(&t, 0, sizeof(t));
	t.msgid = b->msgid;
	strlcpy(t.action, b->action, sizeof(t.action));
	strlcpy(t.domain, b->domain, sizeof(t.domain));
	strlcpy(t.sender, first->sender, sizeof(t.sender));
	strlcpy(t.ret, first->dsn_ret, sizeof(t.ret));
	strlcpy(t.envid, first->dsn_envid, sizeof(t.envid));
	t.n = (uint32_t)(to - from);
	if ((t.rcpts = calloc(t.n, sizeof(*t.rcpts))) == NULL)
		fatal("calloc");
	for (i = from; i < to; i++) {
		e = b->rcpts[i];
		t.rcpts[i - from].evpid = e->id;
		strlcpy(t.rcpts[i - from].rcpt, e->rcpt,
		    sizeof(t.rcpts[i - from].rcpt));
		strlcpy(t.rcpts[i - from].notify, e->dsn_notify,
		    sizeof(t.rcpts[i - from].notify));
		strlcpy(t.rcpts[i - from].orcpt, e->dsn_orcpt,
		    sizeof(t.rcpts[i - from].orcpt));
		relay_sent_add(e->id);
	}
	msg_transfer_write(&t, fd);
	free(t.rcpts);
}

static void
relay_tempfail(struct envelope *e, const char *err)
{
	time_t	 next;

	e->tries++;
	strlcpy(e->lasterr, err, sizeof(e->lasterr));
	next = scheduler_retry(e->id);
	log_info("relay evpid=%016" PRIx64 " to=<%s> result=tempfail "
	    "tries=%u retry=%lld error=\"%s\"", e->id, e->rcpt, e->tries,
	    (long long)(next - time(NULL)), err);
	if (store_envelope_update(e) == -1)
		log_warn("queue: evpid=%016" PRIx64 " cannot update envelope",
		    e->id);
}

/*
 * Send what gathered.  A sender's DSN parameters are the same for every
 * envelope of a message, so one transfer carries them once; a batch
 * larger than one transfer or one transaction goes as several.
 */
static void
relay_flush(int fd, short event, void *arg)
{
	struct relay_batch	*b;
	size_t			 i, from, bytes;
	int			 msgfd;

	while ((b = TAILQ_FIRST(&batches)) != NULL) {
		TAILQ_REMOVE(&batches, b, entry);
		for (from = 0; from < b->n; from = i) {
			bytes = RELAY_HEAD_BYTES;
			for (i = from; i < b->n && i - from <
			    env->mta.max_rcpt && bytes + RELAY_RCPT_BYTES <
			    IMSG_MAXPAYLOAD; i++)
				bytes += RELAY_RCPT_BYTES;
			if ((msgfd = store_message_open(b->msgid)) == -1) {
				log_warn("queue: msgid=%08x cannot open message",
				    b->msgid);
				for (; from < i; from++)
					relay_tempfail(b->rcpts[from],
					    "cannot open message");
				continue;
			}
			relay_send(b, from, i, msgfd);
		}
		free(b->rcpts);
		free(b);
	}
}

/* The scheduler made e due; it leaves with the others of its round. */
void
relay_deliver(struct envelope *e, int smarthost)
{
	struct relay_batch	*b;
	char			 domain[SMTP_DOMAIN_MAX + 1];
	struct timeval		 tv = { 0, 0 };

	relay_domain(e, smarthost, domain, sizeof(domain));
	TAILQ_FOREACH(b, &batches, entry)
		if (b->msgid == envelope_msgid(e->id) &&
		    strcmp(b->action, e->action) == 0 &&
		    strcmp(b->domain, domain) == 0)
			break;
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			fatal("calloc");
		b->msgid = envelope_msgid(e->id);
		strlcpy(b->action, e->action, sizeof(b->action));
		strlcpy(b->domain, domain, sizeof(b->domain));
		TAILQ_INSERT_TAIL(&batches, b, entry);
	}
	if (b->n == b->size) {
		b->size = b->size ? b->size * 2 : 8;
		if ((b->rcpts = reallocarray(b->rcpts, b->size,
		    sizeof(*b->rcpts))) == NULL)
			fatal("reallocarray");
	}
	b->rcpts[b->n++] = e;
	if (!evtimer_pending(&flush_ev, NULL))
		evtimer_add(&flush_ev, &tv);
}

/* Printable ASCII only: anything else becomes '?'. */
static void
relay_clean(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

static void
relay_refuse(uint64_t evpid, const char *why)
{
	log_warnx("relay evpid=%016" PRIx64 " result=refused from=mta "
	    "reason=\"%s\"", evpid, why);
}

void
relay_result(struct imsg *imsg)
{
	struct envelope		*e;
	struct msg_result	 r;
	const char		*err = r.err, *remote = r.remote;
	uint64_t		 evpid;
	uint32_t		 status;

	if (msg_result_read(imsg, &r) == -1) {
		relay_refuse(0, "malformed");
		return;
	}
	evpid = r.evpid;
	status = r.status;
	if (status > DELIVERY_PERMFAIL) {
		relay_refuse(evpid, "unknown status");
		return;
	}
	if (!relay_sent_take(evpid)) {
		relay_refuse(evpid, "not an envelope handed to the mta");
		return;
	}
	if ((e = scheduler_get(evpid, SCHED_INFLIGHT)) == NULL) {
		relay_refuse(evpid, "envelope not in flight");
		return;
	}
	relay_clean(r.err);
	relay_clean(r.remote);
	queue_control_delivered(status);
	strlcpy(e->remote_mta, remote, sizeof(e->remote_mta));

	switch (status) {
	case DELIVERY_OK:
		log_info("relay evpid=%016" PRIx64 " from=<%s> to=<%s> "
		    "relay=%s result=delivered", evpid, e->sender, e->rcpt,
		    remote[0] != '\0' ? remote : "-");
		if (store_envelope_remove(evpid) == -1)
			log_warn("queue: evpid=%016" PRIx64 " cannot remove "
			    "delivered envelope", evpid);
		scheduler_done(evpid);
		queue_removed();
		return;
	case DELIVERY_TEMPFAIL:
		relay_tempfail(e, err);
		return;
	default:
		e->tries++;
		strlcpy(e->lasterr, err, sizeof(e->lasterr));
		log_warnx("relay evpid=%016" PRIx64 " to=<%s> result=permfail "
		    "error=\"%s\"", evpid, e->rcpt, err);
		if (store_envelope_update(e) == -1)
			log_warn("queue: evpid=%016" PRIx64 " cannot update "
			    "envelope", evpid);
		scheduler_hold(evpid);
		dsn_failed(e);
		return;
	}
}

void
relay_init(void)
{
	evtimer_set(&flush_ev, relay_flush, NULL);
}
