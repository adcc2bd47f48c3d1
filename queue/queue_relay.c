/*
 * The queue's half of relaying: envelopes the scheduler makes due in
 * one round are gathered by message and destination, so that the mta
 * can give several recipients of one message to one host in a single
 * transaction, and handed over with the message file open read-only.
 * The mta answers once per recipient.  It faces remote servers, so the
 * text of an answer is cleaned once more here before it reaches a log
 * line, an envelope file or a bounce.
 */
#include <sys/types.h>
#include <sys/queue.h>

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
	struct ibuf		*ib;
	const struct envelope	*first = b->rcpts[from];
	size_t			 i;

	ib = proc_create(IMSG_QUEUE_MTA_TRANSFER, 0, fd);
	imsg_add_u32(ib, b->msgid);
	imsg_add_string(ib, b->action);
	imsg_add_string(ib, b->domain);
	imsg_add_string(ib, first->sender);
	imsg_add_string(ib, first->dsn_ret);
	imsg_add_string(ib, first->dsn_envid);
	imsg_add_u32(ib, (uint32_t)(to - from));
	for (i = from; i < to; i++) {
		imsg_add_u64(ib, b->rcpts[i]->id);
		imsg_add_string(ib, b->rcpts[i]->rcpt);
		imsg_add_string(ib, b->rcpts[i]->dsn_notify);
		imsg_add_string(ib, b->rcpts[i]->dsn_orcpt);
	}
	proc_close(PROC_MTA, ib);
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

void
relay_result(struct imsg *imsg)
{
	struct envelope	*e;
	char		 err[ENVELOPE_ERRMAX], remote[ENVELOPE_HOSTMAX];
	uint64_t	 evpid;
	uint32_t	 status;

	evpid = imsg_get_u64(imsg);
	status = imsg_get_u32(imsg);
	imsg_get_string(imsg, err, sizeof(err));
	imsg_get_string(imsg, remote, sizeof(remote));
	proc_check(PROC_MTA, imsg);
	if ((e = scheduler_get(evpid, SCHED_INFLIGHT)) == NULL)
		fatalx("queue: relay result for an envelope not in flight");
	relay_clean(err);
	relay_clean(remote);
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
