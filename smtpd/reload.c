/*
 * Reload, in the parent (SIGHUP or smtpctl reload).  The parent reads
 * smtpd.conf and every file it names again, as at start, and checks
 * all of it; on any error the running configuration stays and the
 * errors go to the log and to smtpctl.  Otherwise the new generation
 * goes to every child that decides with it (lookup first: it must know
 * a listener before the listener hands it a session), and to the smtp
 * process last, with the sockets of the new listeners; a listener that
 * stays keeps its socket and its queue of clients.  Sessions already
 * open finish under the configuration they began with.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtpd.h"
#include "parent_msg.h"

/* The children told first, all at once; smtp after them. */
static const enum smtp_proc	 reload_first[] = {
	PROC_LOOKUP, PROC_AUTH, PROC_QUEUE, PROC_MTA, PROC_CONTROL
};
#define RELOAD_FIRST	(sizeof(reload_first) / sizeof(reload_first[0]))

#define RELOAD_ERRORS_MAX	8192	/* what smtpctl is told, at most */
#define RELOAD_SMTP_TIMEOUT	10	/* seconds for the listener */

static struct {
	int			 running;
	uint32_t		 client;	/* control's, 0 for SIGHUP */
	struct smtpd_config	*next;
	struct conffiles	*files;
	size_t			 waiting;	/* children not switched yet */
	int			 smtp_told;
	struct event		 late;		/* smtp's deadline */
	struct timespec		 started;
} reload;

static const char	*reload_path;	/* smtpd.conf, absolute */

void
reload_init(const char *path)
{
	reload_path = path;
}

/* A line to smtpctl (control's client), if one asked. */
static void
reload_answer_to(uint32_t client, uint32_t type, const char *text)
{
	if (client == 0)
		return;
	proc_close(PROC_CONTROL, msg_ctl_answer_write(type, client, -1, text));
}

static void
reload_answer(uint32_t type, const char *text)
{
	reload_answer_to(reload.client, type, text);
}

static void
reload_answer_lines(uint32_t type, char *text)
{
	char	*line;

	while ((line = strsep(&text, "\n")) != NULL)
		if (line[0] != '\0')
			reload_answer(type, line);
}

/* What only a restart may change; each one found is logged. */
static int
reload_unchanged(struct smtpd_config *old, struct smtpd_config *next)
{
	int	 errors = 0;

	if (strcmp(old->queue_dir, next->queue_dir) != 0) {
		log_warnx("%s: queue cannot change without a restart",
		    next->file);
		errors++;
	}
	if (strcmp(old->control_socket, next->control_socket) != 0 ||
	    strcmp(old->control_group, next->control_group) != 0) {
		log_warnx("%s: control socket cannot change without a restart",
		    next->file);
		errors++;
	}
	if (strcmp(old->offline_dir, next->offline_dir) != 0) {
		log_warnx("%s: offline directory cannot change without a "
		    "restart", next->file);
		errors++;
	}
	if (strcmp(old->submit_group, next->submit_group) != 0) {
		log_warnx("%s: trusted-group cannot change without a restart",
		    next->file);
		errors++;
	}
	return errors;
}

static int
reload_same_socket(const struct listener *a, const struct listener *b)
{
	return (a->flags & LISTEN_LOCAL) == (b->flags & LISTEN_LOCAL) &&
	    a->sslen == b->sslen && memcmp(&a->ss, &b->ss, a->sslen) == 0;
}

/*
 * Each listener of next gets the socket of the same address in the
 * running configuration, or a new one bound now.  On failure, what
 * was bound here is closed and the running sockets are left alone.
 */
static int
reload_bind(struct smtpd_config *old, struct smtpd_config *next)
{
	struct listener	*l, *o;

	TAILQ_FOREACH(l, &next->listeners, entry) {
		l->fd = -1;
		TAILQ_FOREACH(o, &old->listeners, entry)
			if (o->fd != -1 && reload_same_socket(o, l))
				break;
		if (o != NULL) {
			l->fd = o->fd;
			o->fd = -1;
			continue;
		}
		if (listener_bind(l) == -1) {
			log_warnx("%s:%d: cannot listen on %s port %d: %s",
			    next->file, l->line, l->addr, l->port,
			    strerror(errno));
			goto fail;
		}
	}
	return 0;
 fail:
	/* Give the running ones their sockets back; close the new ones. */
	TAILQ_FOREACH(l, &next->listeners, entry) {
		if (l->fd == -1)
			continue;
		TAILQ_FOREACH(o, &old->listeners, entry)
			if (o->fd == -1 && reload_same_socket(o, l))
				break;
		if (o != NULL)
			o->fd = l->fd;
		else
			close(l->fd);
		l->fd = -1;
	}
	return -1;
}

/* The listeners of the old generation that are gone close for good. */
static void
reload_close_old(struct smtpd_config *old)
{
	struct listener		*o;
	struct sockaddr_un	*sun;

	TAILQ_FOREACH(o, &old->listeners, entry) {
		if (o->fd == -1)
			continue;
		close(o->fd);
		o->fd = -1;
		if (o->flags & LISTEN_LOCAL) {
			sun = (struct sockaddr_un *)&o->ss;
			(void)unlink(sun->sun_path);
		}
	}
}

/*
 * IMSG_PARENT_RELOAD (parent_msg.c), with the files of the role's
 * kinds in a memory file; reload_receive() takes it.
 */
static void
reload_send(enum smtp_proc p)
{
	struct msg_reload	 r;

	memset(&r, 0, sizeof(r));
	r.generation = reload.next->generation;
	strlcpy(r.path, reload_path, sizeof(r.path));
	msg_reload_write(p, &r,
	    conffiles_memfd(reload.files, parent_role_files(p)));
}

/*
 * The files a message of the parent carries, read exactly, decoded
 * and served from now on in place of any served before.
 */
static struct conffiles *
reload_files_take(struct imsg *imsg, const char *what)
{
	struct conffiles	*files;

	if (imsg_end(imsg) == -1 || imsg->fd == -1)
		fatalx("%s: malformed message from the parent", what);
	if ((files = conffiles_from_fd(imsg->fd)) == NULL)
		fatalx("%s: bad files from the parent", what);
	close(imsg->fd);
	imsg->fd = -1;
	conffiles_free(conffiles_serving());
	conffiles_serve(files);
	return files;
}

/*
 * A child's new generation, from the parent's IMSG_PARENT_RELOAD: its
 * number, the name of smtpd.conf, and the files in a memory file.  The
 * files stay served (conffiles_serving()) for the role to read what it
 * needs of them, and the role frees them.  The parent parsed the same
 * bytes: a failure here is not the admin's.
 */
struct smtpd_config *
reload_receive(struct imsg *imsg, int flags)
{
	struct smtpd_config	*c;
	struct conffiles	*files;
	struct msg_reload	 r;

	if (msg_reload_read(imsg, &r) == -1)
		fatalx("reload: malformed message from the parent");
	files = reload_files_take(imsg, "reload");
	if (files->generation != r.generation)
		fatalx("reload: files of another generation");
	if ((c = parse_config(r.path, flags)) == NULL)
		fatalx("reload: generation %u does not parse", r.generation);
	c->generation = r.generation;
	return c;
}

/* Tell the parent this process has switched to c. */
void
reload_confirm(struct smtpd_config *c)
{
	conffiles_free(conffiles_serving());
	msg_reload_done_write(c->generation);
}

/*
 * IMSG_PARENT_UPDATE_TABLE, peerid smtpctl's id at control: string the
 * table's name, u32 the errno of reading its file (0: read), and the
 * file, when read, in a memory file.  smtpctl update table: the file is
 * read here, as at a reload, and lookup loads it and answers.  The
 * name comes from smtpctl through control: a malformed request is
 * refused.
 */
void
reload_table(struct imsg *imsg)
{
	struct conffiles	*files;
	struct table		*t;
	struct msg_update_table	 u;
	const unsigned char	*data;
	char			 name[TABLE_NAMESZ], err[256];
	size_t			 len;
	int			 error = 0;

	if (msg_ctl_table_read(imsg, name, sizeof(name)) == -1) {
		proc_refuse(PROC_CONTROL, imsg, "malformed");
		return;
	}
	files = conffiles_new(env->generation);
	if ((t = table_find(&env->tables, name)) != NULL &&
	    t->backend == TABLE_FILE) {
		conffiles_record(files);
		/* The files its members include are read again with it. */
		if (conffile_read(t->path, CONFFILE_TABLE, &data, &len) == -1)
			error = errno;
		else if (config_alias_table(env, t) &&
		    table_reload(t, err, sizeof(err)) == 0)
			table_includes_load(t, &env->tables);
		conffiles_record(NULL);
	}
	memset(&u, 0, sizeof(u));
	strlcpy(u.name, name, sizeof(u.name));
	u.error = error;
	msg_update_table_write(imsg->hdr.peerid, &u,
	    conffiles_memfd(files, CONFFILE_TABLE | CONFFILE_INCLUDE));
	conffiles_free(files);
}

/* Its reader: the files, served until freed, and the table's name. */
struct conffiles *
reload_table_receive(struct imsg *imsg, char *name, size_t len)
{
	struct conffiles	*files;
	struct msg_update_table	 u;

	if (msg_update_table_read(imsg, &u) == -1)
		fatalx("update table: malformed message from the parent");
	strlcpy(name, u.name, len);
	files = reload_files_take(imsg, "update table");
	if (u.error != 0)
		files->missing = u.error;
	return files;
}

static void
reload_fail(char *errors)
{
	log_warnx("reload result=failed");
	reload_answer_lines(IMSG_CTL_LINE, errors);
	reload_answer(IMSG_CTL_FAIL, "configuration not reloaded");
	reload.running = 0;
}

/*
 * Read and check the new configuration; if it holds, send it on.
 * client is smtpctl's id at control, 0 for SIGHUP.
 */
void
reload_start(uint32_t client)
{
	struct smtpd_config	*next;
	struct conffiles	*files;
	char			*errors;
	size_t			 p;

	/* The one under way keeps its client, who is answered at its end. */
	if (reload.running) {
		if (client != 0)
			reload_answer_to(client, IMSG_CTL_FAIL,
			    "a reload is under way");
		else
			log_warnx("reload: one is under way already");
		return;
	}
	memset(&reload, 0, sizeof(reload));
	reload.running = 1;
	reload.client = client;
	clock_gettime(CLOCK_MONOTONIC, &reload.started);
	log_info("reload file=%s", reload_path);

	if ((errors = calloc(1, RELOAD_ERRORS_MAX)) == NULL)
		fatal("calloc");
	log_capture(errors, RELOAD_ERRORS_MAX);
	files = conffiles_new(env->generation + 1);
	conffiles_record(files);
	next = parse_config(reload_path, PARSE_TABLES | PARSE_PKI);
	conffiles_record(NULL);
	if (next != NULL && (reload_unchanged(env, next) > 0 ||
	    reload_bind(env, next) == -1)) {
		config_free(next);
		next = NULL;
	}
	log_capture(NULL, 0);
	if (next == NULL) {
		conffiles_free(files);
		reload_fail(errors);
		free(errors);
		return;
	}
	/* Warnings (an action never used...) go to smtpctl too. */
	reload_answer_lines(IMSG_CTL_LINE, errors);
	free(errors);

	next->generation = files->generation;
	parent_mark_relay_tables(next, files);
	parent_fd_limit(next, 0);
	reload.next = next;
	reload.files = files;
	for (p = 0; p < RELOAD_FIRST; p++)
		reload_send(reload_first[p]);
	reload.waiting = RELOAD_FIRST;
}

/* The new generation is everyone's: the parent's too. */
static void
reload_finish(void)
{
	struct timespec	 now;
	struct smtpd_config *old = env;
	char		 text[64];
	long long	 ms;

	reload_close_old(old);
	env = reload.next;
	/* Deliveries waiting in a box keep their action until they end. */
	config_retire(old);
	conffiles_free(reload.files);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - reload.started.tv_sec) * 1000 +
	    (now.tv_nsec - reload.started.tv_nsec) / 1000000;
	log_info("reload generation=%u result=ok ms=%lld", env->generation,
	    ms);
	snprintf(text, sizeof(text), "configuration reloaded: generation %u",
	    env->generation);
	reload_answer(IMSG_CTL_OK, text);
	memset(&reload, 0, sizeof(reload));
}

/*
 * The listener had its time to switch: whether it said so or not, the
 * others have, and a compromised listener must not hold reloads back.
 */
static void
reload_smtp_late(int fd, short event, void *arg)
{
	log_warnx("reload: the listener did not confirm generation %u",
	    reload.next->generation);
	reload_finish();
}

/*
 * A child has switched; once all have, smtp goes, then the parent.
 * The listener's word is checked, never trusted to be right.
 */
void
reload_child_done(enum smtp_proc from, struct imsg *imsg)
{
	struct timeval	 tv = { RELOAD_SMTP_TIMEOUT, 0 };
	uint32_t	 generation;

	if (msg_reload_done_read(imsg, &generation) == -1 &&
	    from != PROC_SMTP)
		fatalx("reload: malformed confirmation from %s",
		    proc_name(from));
	if (from == PROC_SMTP) {
		if (proc_valid(from, imsg, 0) == -1)
			return;
		if (!reload.running || !reload.smtp_told ||
		    generation != reload.next->generation) {
			proc_refuse(from, imsg, "no reload to confirm");
			return;
		}
		evtimer_del(&reload.late);
		reload_finish();
		return;
	}
	proc_check(from, imsg);
	if (!reload.running || reload.smtp_told || reload.waiting == 0 ||
	    generation != reload.next->generation)
		fatalx("reload: %s switched to generation %u unasked",
		    proc_name(from), generation);
	if (--reload.waiting > 0)
		return;
	reload.smtp_told = 1;
	reload_send(PROC_SMTP);
	parent_send_sockets(reload.next);
	evtimer_set(&reload.late, reload_smtp_late, NULL);
	evtimer_add(&reload.late, &tv);
}
