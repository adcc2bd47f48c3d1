/*
 * The queue process: owns the spool (its root directory when smtpd runs
 * as root), creates message files for the listener, commits them,
 * and hands envelopes to delivery as the scheduler says.  It never
 * parses SMTP and never talks to the network.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <errno.h>
#include <event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../smtpd/smtpd.h"
#include "queue_scheduler.h"
#include "queue_control.h"
#include "queue_dsn.h"

#define QUEUE_MAX_RCPT	SMTP_MAX_ENVELOPES

/* A message being received: its envelopes arrive before the commit. */
struct incoming {
	RB_ENTRY(incoming)	 node;
	TAILQ_ENTRY(incoming)	 pending;	/* waiting to be committed */
	uint32_t		 msgid;
	uint32_t		 session;
	int			 committing;
	struct envelope		*envs;
	size_t			 nenvs;
};

RB_HEAD(incoming_tree, incoming);
static int
incoming_cmp(struct incoming *a, struct incoming *b)
{
	return a->msgid < b->msgid ? -1 : a->msgid > b->msgid;
}
RB_GENERATE_STATIC(incoming_tree, incoming, node, incoming_cmp);
static struct incoming_tree	 incomings = RB_INITIALIZER(&incomings);

/*
 * Commits wait here until the messages already read from the listener
 * have been dispatched; then they share one batch (group commit).
 */
static TAILQ_HEAD(, incoming)	 commits = TAILQ_HEAD_INITIALIZER(commits);
static size_t			 ncommits;
static struct event		 commit_ev;
static int			 commit_armed;

static void	queue_commit_arm(void);
static int			 removals_unsynced;

static struct incoming *
incoming_find(uint32_t msgid, uint32_t session)
{
	struct incoming	 key, *in;

	key.msgid = msgid;
	if ((in = RB_FIND(incoming_tree, &incomings, &key)) == NULL ||
	    in->session != session)
		fatalx("queue: smtp named a message it does not own");
	return in;
}

static void
incoming_free(struct incoming *in)
{
	RB_REMOVE(incoming_tree, &incomings, in);
	free(in->envs);
	free(in);
}

static void
queue_reply(uint32_t type, uint32_t session, uint32_t status, uint32_t msgid,
    int fd)
{
	struct ibuf	*b;

	b = proc_create(type, session, fd);
	imsg_add_u32(b, status);
	imsg_add_u32(b, msgid);
	proc_close(PROC_SMTP, b);
}

static void
queue_create(struct imsg *imsg)
{
	struct incoming	*in;
	uint32_t	 msgid;
	int		 fd;

	proc_check(PROC_SMTP, imsg);
	if (store_message_create(&msgid, &fd) == -1) {
		log_warn("queue: cannot create message");
		queue_reply(IMSG_QUEUE_SMTP_CREATE, imsg->hdr.peerid,
		    errno == ENOSPC || errno == EDQUOT ? 2 : 1, 0, -1);
		return;
	}
	if ((in = calloc(1, sizeof(*in))) == NULL)
		fatal("calloc");
	in->msgid = msgid;
	in->session = imsg->hdr.peerid;
	RB_INSERT(incoming_tree, &incomings, in);
	queue_reply(IMSG_QUEUE_SMTP_CREATE, imsg->hdr.peerid, 0, msgid, fd);
}

static void
queue_envelope(struct imsg *imsg)
{
	struct incoming	*in;
	struct envelope	*e;
	uint32_t	 msgid;

	msgid = imsg_get_u32(imsg);
	in = incoming_find(msgid, imsg->hdr.peerid);
	if (in->committing)
		fatalx("queue: envelope for a message being committed");
	if (in->nenvs >= QUEUE_MAX_RCPT)
		fatalx("queue: too many envelopes for one message");
	if ((in->envs = reallocarray(in->envs, in->nenvs + 1,
	    sizeof(*in->envs))) == NULL)
		fatal("reallocarray");
	e = &in->envs[in->nenvs];
	memset(e, 0, sizeof(*e));
	imsg_get_string(imsg, e->sender, sizeof(e->sender));
	imsg_get_string(imsg, e->rcpt, sizeof(e->rcpt));
	imsg_get_string(imsg, e->action, sizeof(e->action));
	imsg_get_string(imsg, e->user, sizeof(e->user));
	imsg_get_string(imsg, e->target, sizeof(e->target));
	imsg_get_string(imsg, e->helo, sizeof(e->helo));
	imsg_get_string(imsg, e->client, sizeof(e->client));
	imsg_get_string(imsg, e->dsn_ret, sizeof(e->dsn_ret));
	imsg_get_string(imsg, e->dsn_envid, sizeof(e->dsn_envid));
	imsg_get_string(imsg, e->dsn_notify, sizeof(e->dsn_notify));
	imsg_get_string(imsg, e->dsn_orcpt, sizeof(e->dsn_orcpt));
	proc_check(PROC_SMTP, imsg);
	do {
		e->id = ((uint64_t)msgid << 32) | arc4random();
	} while ((uint32_t)e->id == 0);
	e->created = time(NULL);
	in->nenvs++;
}

static void
queue_commit_run(int fd, short event, void *arg)
{
	struct store_commit	*batch;
	struct incoming		*in;
	size_t			 i, j, n = ncommits;
	uint32_t		 status;

	commit_armed = 0;
	if (n == 0) {
		/* Only removals to make durable. */
		if (removals_unsynced && store_sync() == -1)
			log_warn("queue: syncfs");
		removals_unsynced = 0;
		return;
	}
	removals_unsynced = 0;
	if ((batch = calloc(n, sizeof(*batch))) == NULL)
		fatal("calloc");
	i = 0;
	TAILQ_FOREACH(in, &commits, pending) {
		batch[i].msgid = in->msgid;
		batch[i].envs = in->envs;
		batch[i].nenvs = in->nenvs;
		i++;
	}
	store_commit_batch(batch, n);
	for (i = 0; i < n; i++) {
		in = TAILQ_FIRST(&commits);
		TAILQ_REMOVE(&commits, in, pending);
		ncommits--;
		if (batch[i].status != 0) {
			errno = batch[i].status;
			log_warn("queue: msgid=%08x result=tempfail commit",
			    in->msgid);
			status = errno == ENOSPC || errno == EDQUOT ? 2 : 1;
		} else {
			status = 0;
			for (j = 0; j < in->nenvs; j++)
				scheduler_insert(&in->envs[j]);
		}
		/* Session 0 is the queue itself: a bounce it made. */
		if (in->session != 0)
			queue_reply(IMSG_QUEUE_SMTP_COMMIT, in->session,
			    status, in->msgid, -1);
		else
			dsn_committed(in->msgid, status == 0);
		incoming_free(in);
	}
	log_debug("queue: committed a batch of %zu", n);
	free(batch);
}

void
queue_removed(void)
{
	removals_unsynced = 1;
	queue_commit_arm();
}

static void
queue_commit_arm(void)
{
	struct timeval	 now = { 0, 0 };

	if (!commit_armed) {
		commit_armed = 1;
		evtimer_add(&commit_ev, &now);
	}
}

/*
 * Commit a message the queue wrote itself into incoming/ (a bounce),
 * in the next batch with the listener's.
 */
void
queue_submit(uint32_t msgid, const struct envelope *envs, size_t n)
{
	struct incoming	*in;

	if ((in = calloc(1, sizeof(*in))) == NULL ||
	    (in->envs = reallocarray(NULL, n, sizeof(*envs))) == NULL)
		fatal("calloc");
	memcpy(in->envs, envs, n * sizeof(*envs));
	in->nenvs = n;
	in->msgid = msgid;
	in->session = 0;
	in->committing = 1;
	RB_INSERT(incoming_tree, &incomings, in);
	TAILQ_INSERT_TAIL(&commits, in, pending);
	ncommits++;
	queue_commit_arm();
}

static void
queue_commit(struct imsg *imsg)
{
	struct incoming	*in;
	uint32_t	 msgid;

	msgid = imsg_get_u32(imsg);
	proc_check(PROC_SMTP, imsg);
	in = incoming_find(msgid, imsg->hdr.peerid);
	if (in->nenvs == 0 || in->committing)
		fatalx("queue: bad commit from smtp");
	in->committing = 1;
	TAILQ_INSERT_TAIL(&commits, in, pending);
	ncommits++;
	queue_commit_arm();
}

static void
queue_rollback(struct imsg *imsg)
{
	struct incoming	*in;
	uint32_t	 msgid;

	msgid = imsg_get_u32(imsg);
	proc_check(PROC_SMTP, imsg);
	in = incoming_find(msgid, imsg->hdr.peerid);
	if (in->committing)
		fatalx("queue: rollback of a message being committed");
	store_message_abort(msgid, NULL, 0);
	incoming_free(in);
}

static void
queue_deliver(struct envelope *e)
{
	struct action	*a;
	struct ibuf	*b;
	int		 fd;

	if ((a = config_action(env, e->action)) == NULL ||
	    a->type == ACTION_RELAY) {
		/* Kept for an admin: nothing here relays to other hosts. */
		e->tries++;
		strlcpy(e->lasterr, a == NULL ? "no such action" :
		    "relaying to other hosts is not available",
		    sizeof(e->lasterr));
		scheduler_hold(e->id);
		log_warnx("delivery evpid=%016" PRIx64 " to=<%s> result=held "
		    "error=\"%s\"", e->id, e->rcpt, e->lasterr);
		if (store_envelope_update(e) == -1)
			log_warn("queue: evpid=%016" PRIx64 " cannot update "
			    "envelope", e->id);
		return;
	}

	if ((fd = store_message_open(envelope_msgid(e->id))) == -1) {
		log_warn("queue: evpid=%016" PRIx64 " cannot open message",
		    e->id);
		e->tries++;
		strlcpy(e->lasterr, "cannot open message", sizeof(e->lasterr));
		scheduler_retry(e->id);
		return;
	}
	b = proc_create(IMSG_QUEUE_PARENT_DELIVER, 0, fd);
	imsg_add_u64(b, e->id);
	imsg_add_u64(b, (uint64_t)e->created);
	imsg_add_string(b, e->action);
	imsg_add_string(b, e->user);
	imsg_add_string(b, e->target);
	imsg_add_string(b, e->sender);
	imsg_add_string(b, e->rcpt);
	proc_close(PROC_PARENT, b);
}

static void
queue_delivered(struct imsg *imsg)
{
	struct envelope	*e;
	char		 err[ENVELOPE_ERRMAX];
	uint64_t	 evpid;
	uint32_t	 status;
	time_t		 next;

	evpid = imsg_get_u64(imsg);
	status = imsg_get_u32(imsg);
	imsg_get_string(imsg, err, sizeof(err));
	proc_check(PROC_PARENT, imsg);
	if ((e = scheduler_get(evpid, SCHED_INFLIGHT)) == NULL)
		fatalx("queue: delivery result for an envelope not in flight");
	queue_control_delivered(status);

	switch (status) {
	case DELIVERY_OK:
		log_info("delivery evpid=%016" PRIx64 " from=<%s> to=<%s> "
		    "user=%s result=delivered", evpid, e->sender, e->rcpt,
		    e->user);
		if (store_envelope_remove(evpid) == -1)
			log_warn("queue: evpid=%016" PRIx64 " cannot remove "
			    "delivered envelope", evpid);
		scheduler_done(evpid);
		removals_unsynced = 1;
		queue_commit_arm();
		return;
	case DELIVERY_TEMPFAIL:
		e->tries++;
		strlcpy(e->lasterr, err, sizeof(e->lasterr));
		next = scheduler_retry(evpid);
		log_info("delivery evpid=%016" PRIx64 " to=<%s> result=tempfail "
		    "tries=%u retry=%lld error=\"%s\"", evpid, e->rcpt,
		    e->tries, (long long)(next - time(NULL)), err);
		break;
	default:
		e->tries++;
		strlcpy(e->lasterr, err, sizeof(e->lasterr));
		log_warnx("delivery evpid=%016" PRIx64 " to=<%s> result=permfail "
		    "error=\"%s\"", evpid, e->rcpt, err);
		scheduler_hold(evpid);
		dsn_failed(e);
		return;
	}
	if (store_envelope_update(e) == -1)
		log_warn("queue: evpid=%016" PRIx64 " cannot update envelope",
		    evpid);
}

static void
queue_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	switch (from) {
	case PROC_SMTP:
		switch (imsg->hdr.type) {
		case IMSG_SMTP_QUEUE_CREATE:
			queue_create(imsg);
			return;
		case IMSG_SMTP_QUEUE_ENVELOPE:
			queue_envelope(imsg);
			return;
		case IMSG_SMTP_QUEUE_COMMIT:
			queue_commit(imsg);
			return;
		case IMSG_SMTP_QUEUE_ROLLBACK:
			queue_rollback(imsg);
			return;
		}
		break;
	case PROC_CONTROL:
		if (queue_control_dispatch(imsg) == 0)
			return;
		break;
	case PROC_LOOKUP:
		switch (imsg->hdr.type) {
		case IMSG_LOOKUP_QUEUE_RCPT:
			dsn_lookup_reply(imsg);
			return;
		}
		break;
	case PROC_PARENT:
		switch (imsg->hdr.type) {
		case IMSG_PARENT_QUEUE_DELIVERED:
			queue_delivered(imsg);
			return;
		}
		break;
	default:
		break;
	}
	proc_bad_imsg(PROC_QUEUE, from, imsg);
}

static int
queue_load_one(const struct envelope *e, void *arg)
{
	scheduler_insert(e);
	return 0;
}

void
queue_main(void)
{
	struct sandbox_path	 paths[2];
	int			 n;

	event_init();
	proc_peers_from_exec(PROC_QUEUE, queue_dispatch);
	proc_signals();
	if (smtpd_privileged) {
		proc_drop_privileges(SMTPD_QUEUE_USER, env->queue_dir);
		paths[0] = (struct sandbox_path){ "/", SANDBOX_READ |
		    SANDBOX_WRITE | SANDBOX_CREATE };
	} else {
		if (chdir(env->queue_dir) == -1)
			fatal("queue: %s", env->queue_dir);
		paths[0] = (struct sandbox_path){ env->queue_dir,
		    SANDBOX_READ | SANDBOX_WRITE | SANDBOX_CREATE };
	}
	paths[1] = (struct sandbox_path){ NULL, 0 };
	sandbox(PROMISES_QUEUE, paths);

	if (store_init() == -1)
		fatal("queue: cannot set up %s", env->queue_dir);
	if ((n = store_recover()) > 0)
		log_info("queue: removed %d message(s) never acknowledged", n);
	evtimer_set(&commit_ev, queue_commit_run, NULL);
	scheduler_init(queue_deliver);
	scheduler_set_retry(env->retry, env->nretry);
	dsn_init();
	if ((n = store_walk(queue_load_one, NULL)) > 0)
		log_info("queue: loaded %d envelope(s)", n);
	event_dispatch();
	fatalx("queue: event loop ended");
}
