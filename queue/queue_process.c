/*
 * The queue process: owns the spool (its root directory when smtpd runs
 * as root), receives messages and commits them (queue_receive.c), and
 * hands envelopes to delivery as the scheduler says.  It never parses
 * SMTP and never talks to the network.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../smtpd/smtpd.h"
#include "queue_scheduler.h"
#include "queue_control.h"
#include "queue_dsn.h"
#include "queue_receive.h"
#include "queue_relay.h"
#include "queue_msg.h"

static void
queue_deliver(struct envelope *e)
{
	struct action		*a;
	struct msg_deliver	 d;
	int			 fd;

	/*
	 * Not tried once more after its time, which the sweep may notice
	 * a minute late: held, and the sweep made to run now.
	 */
	if (time(NULL) - (time_t)e->created >= env->queue_ttl) {
		scheduler_hold(e->id);
		dsn_sweep_now();
		return;
	}
	if ((a = config_action(env, e->action)) != NULL &&
	    a->type == ACTION_RELAY) {
		relay_deliver(e, a->relay.host[0] != '\0');
		return;
	}
	if (a == NULL) {
		/* Kept for an admin: the configuration lost the action. */
		e->tries++;
		strlcpy(e->lasterr, "no such action", sizeof(e->lasterr));
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
	memset(&d, 0, sizeof(d));
	d.evpid = e->id;
	d.created = (uint64_t)e->created;
	strlcpy(d.action, e->action, sizeof(d.action));
	strlcpy(d.user, e->user, sizeof(d.user));
	strlcpy(d.target, e->target, sizeof(d.target));
	strlcpy(d.sender, e->sender, sizeof(d.sender));
	strlcpy(d.rcpt, e->rcpt, sizeof(d.rcpt));
	msg_deliver_write(&d, fd);
}

/* Relayed envelopes are limited apart from local ones. */
static int
queue_kind(const struct envelope *e)
{
	struct action	*a;

	a = config_action(env, e->action);
	return a != NULL && a->type == ACTION_RELAY;
}

static void
queue_delivered(struct imsg *imsg)
{
	struct envelope		*e;
	struct msg_delivered	 d;
	const char		*err = d.err;
	uint64_t		 evpid;
	uint32_t		 status;
	time_t			 next;

	if (msg_delivered_read(imsg, &d) == -1)
		fatalx("queue: bad delivery result from the parent");
	evpid = d.evpid;
	status = d.status;
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
		queue_removed();
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

/*
 * A new generation: limits, lifetimes and retry delays.  The queue
 * keeps no pointer into a configuration past one message, so the old
 * one goes at once.
 */
static void
queue_reload(struct imsg *imsg)
{
	struct smtpd_config	*next;

	next = reload_receive(imsg, 0);
	config_retire(env);
	env = next;
	scheduler_set_retry(env->retry, env->nretry);
	/* Actions may have changed: kinds, and what a pause holds back. */
	scheduler_set_kind(queue_kind);
	log_info("queue: reload generation=%u", env->generation);
	reload_confirm(env);
}

static void
queue_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	switch (from) {
	case PROC_SMTP:
		switch (imsg->hdr.type) {
		case IMSG_SMTP_QUEUE_COMMIT:
			receive_commit(imsg);
			return;
		case IMSG_SMTP_QUEUE_ROLLBACK:
			receive_rollback(imsg);
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
		case IMSG_LOOKUP_QUEUE_ENVELOPE:
			receive_envelope(imsg);
			return;
		case IMSG_LOOKUP_QUEUE_CREATE:
			receive_create(imsg);
			return;
		case IMSG_LOOKUP_QUEUE_CLOSE:
			receive_close(imsg);
			return;
		}
		break;
	case PROC_MTA:
		switch (imsg->hdr.type) {
		case IMSG_MTA_QUEUE_RESULT:
			relay_result(imsg);
			return;
		}
		break;
	case PROC_PARENT:
		switch (imsg->hdr.type) {
		case IMSG_PARENT_QUEUE_DELIVERED:
			queue_delivered(imsg);
			return;
		case IMSG_PARENT_RELOAD:
			queue_reload(imsg);
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
	/* Nothing of the parent's copy of the files is kept. */
	conffiles_free(conffiles_serving());
	sandbox(PROMISES_QUEUE, paths);

	if (store_init() == -1)
		fatal("queue: cannot set up %s", env->queue_dir);
	if ((n = store_recover()) > 0)
		log_info("queue: removed %d message(s) never acknowledged", n);
	receive_init();
	scheduler_init(queue_deliver);
	scheduler_set_kind(queue_kind);
	scheduler_set_retry(env->retry, env->nretry);
	dsn_init();
	relay_init();
	if ((n = store_walk(queue_load_one, NULL)) > 0)
		log_info("queue: loaded %d envelope(s)", n);
	event_dispatch();
	fatalx("queue: event loop ended");
}
