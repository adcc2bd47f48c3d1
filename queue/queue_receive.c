/*
 * How the queue receives a message, and commits it.  A message's
 * envelopes come from lookup, which routed them; its bytes come from
 * the listener through a pipe that this process copies into the message
 * file.  The listener, assumed compromised, never holds a descriptor of
 * a spool file: it can add bytes to the one message it is sending and
 * nothing else, and once the message is committed (or abandoned) its
 * pipe leads nowhere.  What it asks (commit, roll back) is checked
 * against the session that owns the message, and a bad request is
 * refused and logged, never fatal.
 *
 * Commits that arrive together share one batch (group commit), with
 * the bounces the queue makes itself.
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
#include "../smtpd/session_msg.h"
#include "queue_msg.h"
#include "queue_scheduler.h"
#include "queue_dsn.h"
#include "queue_receive.h"

#define QUEUE_MAX_RCPT	SMTP_MAX_ENVELOPES

/* What the listener may add to a message beside its body: Received:. */
#define HEADER_SLACK	(64 * 1024)
#define SPLICE_CHUNK	(64 * 1024)

/*
 * A message being received: its envelopes came from lookup, its bytes
 * come through the pipe until the listener asks for the commit.
 */
struct incoming {
	RB_ENTRY(incoming)	 node;
	TAILQ_ENTRY(incoming)	 pending;	/* waiting to be committed */
	uint32_t		 msgid;
	uint32_t		 session;
	int			 committing;
	struct envelope		*envs;
	size_t			 nenvs;
	int			 pipefd;	/* -1 once closed */
	int			 filefd;	/* -1 once closed */
	struct event		 ev;
	loff_t			 received;
	int			 eof;
	int			 error;		/* an errno once writing failed */
	int			 commit_wanted;
	uint64_t		 size;		/* what the listener sent */
	time_t			 touched;	/* made, or bytes came */
};

/* Envelopes from lookup for the message it asks for next. */
static struct {
	uint32_t		 session;
	struct envelope		*envs;
	size_t			 nenvs;
	int			 bad;
} staged;

RB_HEAD(incoming_tree, incoming);
static int
incoming_cmp(struct incoming *a, struct incoming *b)
{
	return a->msgid < b->msgid ? -1 : a->msgid > b->msgid;
}
RB_GENERATE_STATIC(incoming_tree, incoming, node, incoming_cmp);
static struct incoming_tree	 incomings = RB_INITIALIZER(&incomings);
static size_t			 nincoming;	/* the listener's, open */
static struct event		 sweep_ev;

/*
 * Commits wait here until the messages already read from the listener
 * have been dispatched; then they share one batch (group commit).
 */
static TAILQ_HEAD(, incoming)	 commits = TAILQ_HEAD_INITIALIZER(commits);
static size_t			 ncommits;
static struct event		 commit_ev;
static int			 commit_armed;

static void	queue_commit_arm(void);

/*
 * A removal is made durable at most a second later, by the next
 * commit's flush or by a flush of its own.  Until then a crash may
 * bring back an envelope that was delivered: it is delivered twice,
 * never lost.  Flushing the file system after every delivery cost as
 * much as a commit does.
 */
#define REMOVAL_SYNC_DELAY	1	/* seconds */
static struct event		 removal_ev;
static int			 removals_unsynced, removal_armed;

/* The message a session of the listener names, or NULL once refused. */
static struct incoming *
incoming_find(struct imsg *imsg, uint32_t msgid)
{
	struct incoming	 key, *in;

	key.msgid = msgid;
	if ((in = RB_FIND(incoming_tree, &incomings, &key)) == NULL ||
	    in->session != imsg->hdr.peerid || in->session == 0) {
		proc_refuse(PROC_SMTP, imsg, "not a message of the session");
		return NULL;
	}
	if (in->committing || in->commit_wanted) {
		proc_refuse(PROC_SMTP, imsg, "message already committed");
		return NULL;
	}
	return in;
}

static void
incoming_pipe_close(struct incoming *in)
{
	if (in->pipefd == -1)
		return;
	event_del(&in->ev);
	close(in->pipefd);
	in->pipefd = -1;
}

static void
incoming_free(struct incoming *in)
{
	if (in->session != 0)
		nincoming--;
	incoming_pipe_close(in);
	if (in->filefd != -1)
		close(in->filefd);
	RB_REMOVE(incoming_tree, &incomings, in);
	free(in->envs);
	free(in);
}

static void
queue_reply(uint32_t type, uint32_t session, uint32_t status, uint32_t msgid,
    int fd)
{
	struct msg_stored	 st;

	st.status = status;
	st.msgid = msgid;
	msg_stored_write(type, session, &st, fd);
}

static void	incoming_check(struct incoming *);

/*
 * Copy what the pipe holds into the message file, without a copy
 * through this process where the kernel can splice.
 */
static void
incoming_read(int fd, short event, void *arg)
{
	struct incoming	*in = arg;
	char		 buf[8192];
	ssize_t		 n, w;
	size_t		 limit = env->max_message_size + HEADER_SLACK;

	for (;;) {
		n = splice(in->pipefd, NULL, in->filefd, &in->received,
		    SPLICE_CHUNK, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n == -1 && errno == EINVAL) {
			/* A file system that takes no splice. */
			if ((n = read(in->pipefd, buf, sizeof(buf))) > 0) {
				w = pwrite(in->filefd, buf, n, in->received);
				if (w != n) {
					in->error = w == -1 ? errno : EIO;
					break;
				}
				in->received += n;
			}
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				in->error = errno;
			break;
		}
		if (n == 0) {
			in->eof = 1;
			break;
		}
		in->touched = time(NULL);
		if ((size_t)in->received > limit) {
			in->error = EFBIG;
			break;
		}
	}
	if (in->error || in->eof)
		incoming_pipe_close(in);
	incoming_check(in);
}

static void
staged_clear(void)
{
	free(staged.envs);
	memset(&staged, 0, sizeof(staged));
}

/* One envelope lookup routed, for the message it will ask for. */
void
receive_envelope(struct imsg *imsg)
{
	char		 text[IMSG_MAXPAYLOAD], err[128];
	struct envelope	*e;

	if (msg_envelope_read(imsg, text, sizeof(text)) == -1)
		fatalx("queue: bad envelope message from lookup");
	if (staged.nenvs > 0 && staged.session != imsg->hdr.peerid)
		fatalx("queue: envelopes of two sessions mixed");
	if (staged.nenvs >= QUEUE_MAX_RCPT)
		fatalx("queue: too many envelopes for one message");
	staged.session = imsg->hdr.peerid;
	if ((staged.envs = reallocarray(staged.envs, staged.nenvs + 1,
	    sizeof(*staged.envs))) == NULL)
		fatal("reallocarray");
	e = &staged.envs[staged.nenvs++];
	if (envelope_load(e, text, err, sizeof(err)) == -1) {
		log_warnx("queue: session=%08x envelope from lookup: %s",
		    imsg->hdr.peerid, err);
		staged.bad = 1;
	}
}

/*
 * Drop the messages of a session still being received: those it left
 * without a commit or a rollback when it asks for another, or all when
 * it is over.  A commit still waiting for its bytes is answered, as its
 * session waits for that answer; once a session is over nobody does.
 */
static void
receive_abandon(uint32_t session, int over)
{
	struct incoming	*in, *next;

	RB_FOREACH_SAFE(in, incoming_tree, &incomings, next) {
		if (in->session != session || in->committing)
			continue;
		if (in->commit_wanted && !over)
			continue;
		log_warnx("queue: msgid=%08x session=%08x result=abandoned",
		    in->msgid, session);
		store_message_abort(in->msgid);
		incoming_free(in);
	}
}

/* Lookup says a session of the listener is over. */
void
receive_close(struct imsg *imsg)
{
	if (msg_close_read(imsg) == -1 || imsg->fd != -1)
		fatalx("queue: malformed close from lookup");
	receive_abandon(imsg->hdr.peerid, 1);
}

/*
 * A message no byte has come for in longer than any session may stay
 * silent is dropped, a commit that waits for bytes that never come is
 * failed: the listener cannot hold spool files open for ever.
 */
static void
receive_sweep(int fd, short event, void *arg)
{
	struct incoming	*in, *next;
	struct timeval	 tv = { 30, 0 };
	time_t		 now = time(NULL), limit;

	limit = env->timeout_data > env->timeout_command ?
	    env->timeout_data : env->timeout_command;
	RB_FOREACH_SAFE(in, incoming_tree, &incomings, next) {
		if (in->session == 0 || in->committing ||
		    now - in->touched <= limit + 30)
			continue;
		log_warnx("queue: msgid=%08x session=%08x result=abandoned "
		    "reason=idle", in->msgid, in->session);
		if (in->commit_wanted)
			queue_reply(IMSG_QUEUE_SMTP_COMMIT, in->session, 1,
			    in->msgid, -1);
		store_message_abort(in->msgid);
		incoming_free(in);
	}
	evtimer_add(&sweep_ev, &tv);
}

/*
 * Lookup has routed a transaction: make the message file and a pipe to
 * it, and give the listener the pipe's write end.
 */
void
receive_create(struct imsg *imsg)
{
	struct incoming	*in;
	uint32_t	 msgid, n, session = imsg->hdr.peerid;
	size_t		 i;
	int		 fd, p[2], err;

	if (msg_create_read(imsg, &n) == -1)
		fatalx("queue: bad create message from lookup");
	if (n == 0 || n != staged.nenvs || staged.session != session)
		fatalx("queue: lookup asks for a message it did not route");
	/*
	 * A session receives one message at a time: one it left without a
	 * commit or a rollback is abandoned, so that a listener cannot pile
	 * up open files here.
	 */
	receive_abandon(session, 0);
	/* Each session holds one at a time; so many means a lying one. */
	if (nincoming >= env->max_sessions) {
		log_warnx("queue: session=%08x result=tempfail "
		    "reason=\"too many messages being received\"", session);
		staged_clear();
		queue_reply(IMSG_QUEUE_SMTP_CREATE, session, 1, 0, -1);
		return;
	}
	if (staged.bad) {
		staged_clear();
		queue_reply(IMSG_QUEUE_SMTP_CREATE, session, 1, 0, -1);
		return;
	}
	if (store_message_create(&msgid, &fd) == -1) {
		err = errno;
		log_warn("queue: cannot create message");
		staged_clear();
		queue_reply(IMSG_QUEUE_SMTP_CREATE, session,
		    err == ENOSPC || err == EDQUOT ? 2 : 1, 0, -1);
		return;
	}
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("queue: pipe");
		store_message_abort(msgid);
		close(fd);
		staged_clear();
		queue_reply(IMSG_QUEUE_SMTP_CREATE, session, 1, 0, -1);
		return;
	}
	if ((in = calloc(1, sizeof(*in))) == NULL)
		fatal("calloc");
	in->msgid = msgid;
	in->session = session;
	in->envs = staged.envs;
	in->nenvs = staged.nenvs;
	staged.envs = NULL;
	staged_clear();
	/* Only the routing is lookup's; the rest is the queue's to set. */
	for (i = 0; i < in->nenvs; i++) {
		in->envs[i].tries = 0;
		in->envs[i].warned = 0;
		in->envs[i].lasterr[0] = '\0';
	}
	in->filefd = fd;
	in->pipefd = p[0];
	in->touched = time(NULL);
	nincoming++;
	event_set(&in->ev, in->pipefd, EV_READ | EV_PERSIST, incoming_read,
	    in);
	event_add(&in->ev, NULL);
	RB_INSERT(incoming_tree, &incomings, in);
	queue_reply(IMSG_QUEUE_SMTP_CREATE, session, 0, msgid, p[1]);
}

/*
 * The listener asked for the commit: it goes ahead once exactly the
 * bytes the listener says it sent have come through the pipe.
 */
static void
incoming_check(struct incoming *in)
{
	uint32_t	 status;
	size_t		 i;
	time_t		 now;
	int		 fd;

	if (!in->commit_wanted)
		return;
	if (!in->error && (uint64_t)in->received < in->size && !in->eof)
		return;		/* more is on its way */
	if (in->error || (uint64_t)in->received != in->size) {
		if (in->error) {
			errno = in->error;
			log_warn("queue: msgid=%08x result=tempfail receive",
			    in->msgid);
		} else
			log_warnx("queue: msgid=%08x result=refused "
			    "reason=\"%llu bytes received, %llu announced\"",
			    in->msgid, (unsigned long long)in->received,
			    (unsigned long long)in->size);
		status = in->error == ENOSPC || in->error == EDQUOT ? 2 : 1;
		queue_reply(IMSG_QUEUE_SMTP_COMMIT, in->session, status,
		    in->msgid, -1);
		store_message_abort(in->msgid);
		incoming_free(in);
		return;
	}
	/* From here on the pipe leads nowhere, whatever is still sent. */
	incoming_pipe_close(in);
	fd = in->filefd;
	in->filefd = -1;
	if (store_file_finish(fd, in->received) == -1) {
		log_warn("queue: msgid=%08x result=tempfail receive",
		    in->msgid);
		queue_reply(IMSG_QUEUE_SMTP_COMMIT, in->session,
		    errno == ENOSPC || errno == EDQUOT ? 2 : 1, in->msgid, -1);
		store_message_abort(in->msgid);
		incoming_free(in);
		return;
	}
	now = time(NULL);
	for (i = 0; i < in->nenvs; i++) {
		do {
			in->envs[i].id = ((uint64_t)in->msgid << 32) |
			    arc4random();
		} while ((uint32_t)in->envs[i].id == 0);
		in->envs[i].created = now;
	}
	in->committing = 1;
	TAILQ_INSERT_TAIL(&commits, in, pending);
	ncommits++;
	queue_commit_arm();
}

static void
queue_commit_run(int fd, short event, void *arg)
{
	struct store_commit	*batch;
	struct incoming		*in;
	size_t			 i, j, n = ncommits;
	uint32_t		 status;

	commit_armed = 0;
	if (n == 0)
		return;
	/* The batch's flush makes every removal before it durable too. */
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
	struct timeval	 tv = { REMOVAL_SYNC_DELAY, 0 };

	removals_unsynced = 1;
	if (!removal_armed) {
		removal_armed = 1;
		evtimer_add(&removal_ev, &tv);
	}
}

static void
queue_removal_sync(int fd, short event, void *arg)
{
	removal_armed = 0;
	if (removals_unsynced && store_sync() == -1)
		log_warn("queue: syncfs");
	removals_unsynced = 0;
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
 * Commit a message the queue wrote itself into a pool file (a bounce),
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
	in->pipefd = in->filefd = -1;
	in->committing = 1;
	RB_INSERT(incoming_tree, &incomings, in);
	TAILQ_INSERT_TAIL(&commits, in, pending);
	ncommits++;
	queue_commit_arm();
}

void
receive_commit(struct imsg *imsg)
{
	struct incoming		*in;
	struct msg_commit	 c;

	/* proc_valid() refuses what does not read exactly. */
	(void)msg_commit_read(imsg, &c);
	if (proc_valid(PROC_SMTP, imsg, 0) == -1 ||
	    (in = incoming_find(imsg, c.msgid)) == NULL)
		return;
	in->commit_wanted = 1;
	in->size = c.size;
	in->touched = time(NULL);
	incoming_check(in);
}

void
receive_rollback(struct imsg *imsg)
{
	struct incoming	*in;
	uint32_t	 msgid;

	(void)msg_rollback_read(imsg, &msgid);
	if (proc_valid(PROC_SMTP, imsg, 0) == -1 ||
	    (in = incoming_find(imsg, msgid)) == NULL)
		return;
	store_message_abort(msgid);
	incoming_free(in);
}

void
receive_init(void)
{
	struct timeval	 tv = { 30, 0 };

	evtimer_set(&commit_ev, queue_commit_run, NULL);
	evtimer_set(&removal_ev, queue_removal_sync, NULL);
	evtimer_set(&sweep_ev, receive_sweep, NULL);
	evtimer_add(&sweep_ev, &tv);
}
