/*
 * smtpctl: talks to a running smtpd over its control socket.  One
 * request, then its answer: lines printed as they come and an end, or a
 * single ok or failure.  The answer to show message brings the message
 * file's descriptor, which is copied to standard output.
 *
 * Under other names it is what local programs expect: sendmail and
 * send-mail (sendmail.c), mailq (the queue, one entry per message),
 * newaliases (reloads the alias table) and makemap (which has nothing
 * to build: tables are read as text).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtpd.h"
#include "enqueue.h"
#include "sendmail.h"

static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr, "usage: smtpctl [-s socket] command [argument ...]\n"
	    "commands: log brief | verbose, pause mda | mta | smtp,\n"
	    "    remove ID | all, resume mda | mta | smtp, schedule ID | all,\n"
	    "    show envelope EVPID, show hosts, show message ID, "
	    "show queue,\n    show stats,"
	    " reload, stop, update table NAME\n");
	exit(1);
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		fprintf(stderr, "smtpctl: %s: path too long\n", path);
		exit(1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		perror("smtpctl: socket");
		exit(1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EACCES)
			fprintf(stderr, "smtpctl: %s: permission denied "
			    "(the control socket is for root)\n", path);
		else
			fprintf(stderr, "smtpctl: cannot reach smtpd at %s: "
			    "%s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

/* The next message from smtpd, waiting for it; -1 when none comes. */
static int
ctl_next(struct imsgbuf *ib, struct imsg *imsg)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 r;

	while ((r = imsg_get(ib, imsg)) == 0) {
		pfd.fd = ib->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR) {
			perror("smtpctl: poll");
			return -1;
		}
		if ((n = imsgbuf_read(ib)) == -1 && errno == EAGAIN)
			continue;
		if (n <= 0) {
			if (n == 0)
				fprintf(stderr, "smtpctl: smtpd closed the "
				    "connection (permission denied?)\n");
			else
				perror("smtpctl: read");
			return -1;
		}
	}
	if (r == -1)
		fprintf(stderr, "smtpctl: bad answer from smtpd\n");
	return r == 1 ? 0 : -1;
}

/* Copy the message file smtpd passed to standard output. */
static int
ctl_copy(int fd)
{
	char	 buf[65536];
	ssize_t	 n, w;
	size_t	 off;

	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			perror("smtpctl: read message");
			return 1;
		}
		if (n == 0)
			return 0;
		for (off = 0; off < (size_t)n; off += w) {
			if ((w = write(STDOUT_FILENO, buf + off, n - off)) ==
			    -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				perror("smtpctl: write");
				return 1;
			}
		}
	}
}

/*
 * Control characters as a backslash and three octal digits, but the
 * tab, which separates the fields of show queue.
 */
static void
ctl_escape(char *dst, size_t size, const char *src)
{
	const unsigned char	*p;
	size_t			 n = 0;

	for (p = (const unsigned char *)src; *p != '\0' && n + 5 < size; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			(void)snprintf(dst + n, 5, "\\%03o", *p);
			n += 4;
		} else
			dst[n++] = *p;
	}
	dst[n] = '\0';
}

static int	ctl_lines_to_stderr;

/*
 * Print one message of the answer.  Returns 0 or 1 (the exit status)
 * for the last message, -1 for a line with more to come.
 */
static int
ctl_print(struct imsg *imsg)
{
	char	 raw[CTL_LINE_MAX], text[4 * CTL_LINE_MAX];

	if (msg_ctl_answer_read(imsg, raw, sizeof(raw)) == -1) {
		fprintf(stderr, "smtpctl: bad answer from smtpd\n");
		return 1;
	}
	/* Whatever a process wrote, no terminal escape reaches the screen. */
	ctl_escape(text, sizeof(text), raw);
	switch (imsg->hdr.type) {
	case IMSG_CTL_LINE:
		/* A reload's lines are what the parser said. */
		if (ctl_lines_to_stderr)
			fprintf(stderr, "%s\n", text);
		else
			printf("%s\n", text);
		return -1;
	case IMSG_CTL_END:
		return fflush(stdout) == EOF ? 1 : 0;
	case IMSG_CTL_OK:
		if (text[0] != '\0')
			printf("%s\n", text);
		if (fflush(stdout) == EOF)
			return 1;
		return imsg->fd == -1 ? 0 : ctl_copy(imsg->fd);
	default:
		fflush(stdout);
		fprintf(stderr, "%s\n", text);
		return 1;
	}
}

/* Send what is queued on ib, then print the answer. */
static int
ctl_send(struct imsgbuf *ib)
{
	struct imsg	 imsg;
	int		 r;

	if (imsgbuf_flush(ib) == -1) {
		perror("smtpctl: write");
		return 1;
	}
	do {
		if (ctl_next(ib, &imsg) == -1)
			return 1;
		r = ctl_print(&imsg);
		if (imsg.fd != -1)
			close(imsg.fd);
		imsg_free(&imsg);
	} while (r == -1);
	imsgbuf_clear(ib);
	return r;
}

/* Send the request b to smtpd at sock and print the answer. */
static int
ctl_request(const char *sock, struct ibuf *b)
{
	struct imsgbuf	 ib;

	imsgbuf_init(&ib, ctl_connect(sock));
	if (imsg_close(&ib, b) == -1) {
		perror("smtpctl");
		return 1;
	}
	return ctl_send(&ib);
}

/*
 * An id as smtpd logs it: 8 hex digits name a message, 16 an envelope
 * (leading zeros may go); or "all".
 */
static int
ctl_target(const char *arg, int all, uint32_t *kind, uint64_t *id)
{
	size_t	 i, len = strlen(arg);

	if (all && strcmp(arg, "all") == 0) {
		*kind = CTL_TARGET_ALL;
		*id = 0;
		return 0;
	}
	if (len == 0 || len > 16)
		return -1;
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)arg[i]))
			return -1;
	*kind = len <= 8 ? CTL_TARGET_MESSAGE : CTL_TARGET_ENVELOPE;
	*id = strtoull(arg, NULL, 16);
	return 0;
}

static int
ctl_queue_request(const char *sock, uint32_t type, const char *arg, int all)
{
	struct msg_ctl_target	 t;

	if (ctl_target(arg, all, &t.kind, &t.id) == -1 ||
	    (type == IMSG_CTL_SHOW_ENVELOPE && t.kind != CTL_TARGET_ENVELOPE)) {
		fprintf(stderr, "smtpctl: %s: not %s\n", arg,
		    type == IMSG_CTL_SHOW_ENVELOPE ? "an envelope id" :
		    all ? "an envelope id, a message id or all" :
		    "an envelope id or a message id");
		return 1;
	}
	return ctl_request(sock, msg_ctl_target_write(type, 0, &t));
}

static int
ctl_pause(const char *sock, uint32_t type, const char *arg)
{
	uint32_t	 what;

	if (strcmp(arg, "mda") == 0)
		what = CTL_PAUSE_MDA;
	else if (strcmp(arg, "mta") == 0)
		what = CTL_PAUSE_MTA;
	else if (strcmp(arg, "smtp") == 0)
		what = CTL_PAUSE_SMTP;
	else
		usage();
	return ctl_request(sock, msg_ctl_pause_write(type, 0, what));
}

/*
 * mailq: the queue as "show queue" lists it, one entry per message:
 * its id, state, tries and next try, the sender, then each recipient
 * with the last error met.  The control socket serves root (and its
 * group) only, so others are told so.
 */
static void
mailq_line(char *line, char *lastmsg, size_t lastlen)
{
	char	*f[7], *p = line;
	char	 msgid[9];
	int	 i;

	for (i = 0; i < 7; i++)
		if ((f[i] = strsep(&p, "\t")) == NULL)
			return;
	if (strlen(f[0]) != 16)
		return;
	snprintf(msgid, sizeof(msgid), "%.8s", f[0]);
	if (strcmp(msgid, lastmsg) != 0) {
		if (lastmsg[0] != '\0')
			printf("\n");
		printf("%-8s  %-8s  tries=%-3s  next=%-8s  %s%s%s\n", msgid,
		    f[3], f[4], f[5], f[1][0] == '<' ? "" : "<", f[1],
		    f[1][0] == '<' ? "" : ">");
		strlcpy(lastmsg, msgid, lastlen);
	}
	if (strcmp(f[6], "-") != 0)
		printf("          (%s)\n", f[6]);
	printf("          %s\n", f[2]);
}

int
mailq_main(void)
{
	struct imsgbuf	 ib;
	struct imsg	 imsg;
	const char	*sock;
	char		 text[CTL_LINE_MAX], lastmsg[9] = "";
	int		 fd, type, n = 0;

	sock = sendmail_path("SMTPD_CONTROL_SOCKET", SMTPD_SOCKET);
	if ((fd = enqueue_connect(sock)) == -1) {
		if (errno == EACCES) {
			fprintf(stderr, "mailq: the queue is shown to root "
			    "only (%s)\n", sock);
			return EX_NOPERM;
		}
		fprintf(stderr, "mailq: cannot reach smtpd at %s: %s\n",
		    sock, strerror(errno));
		return EX_UNAVAILABLE;
	}
	imsgbuf_init(&ib, fd);
	if (imsg_close(&ib, msg_ctl_request_write(IMSG_CTL_SHOW_QUEUE, 0)) ==
	    -1 || imsgbuf_flush(&ib) == -1) {
		perror("mailq");
		return EX_IOERR;
	}
	for (;;) {
		if (ctl_next(&ib, &imsg) == -1)
			return EX_NOPERM;
		type = imsg.hdr.type;
		if (imsg.fd != -1)
			close(imsg.fd);
		if (msg_ctl_answer_read(&imsg, text, sizeof(text)) == -1 ||
		    (type != IMSG_CTL_LINE && type != IMSG_CTL_END)) {
			fprintf(stderr, "mailq: bad answer from smtpd\n");
			return EX_PROTOCOL;
		}
		imsg_free(&imsg);
		if (type == IMSG_CTL_END)
			break;
		mailq_line(text, lastmsg, sizeof(lastmsg));
		n++;
	}
	if (n == 0)
		printf("Mail queue is empty\n");
	return fflush(stdout) == EOF ? EX_IOERR : EX_OK;
}

/*
 * newaliases: the alias table is the one named "aliases", as in the
 * default configuration; it is reloaded like any table.
 */
int
newaliases_main(void)
{
	const char	*sock;

	sock = sendmail_path("SMTPD_CONTROL_SOCKET", SMTPD_SOCKET);
	return ctl_request(sock, msg_ctl_table_write(0, "aliases")) == 0 ?
	    EX_OK : EX_UNAVAILABLE;
}

static int
makemap_main(void)
{
	fprintf(stderr, "makemap: smtpd reads its tables as text files "
	    "and needs no database;\nedit the file and run "
	    "\"smtpctl update table NAME\" (see table(5))\n");
	return EX_OK;
}

int
main(int argc, char *argv[])
{
	const char	*sock, *name;
	int		 ch;

	sendmail_drop_group();
	if ((name = strrchr(argv[0], '/')) != NULL)
		name++;
	else
		name = argv[0];
	if (strcmp(name, "sendmail") == 0 || strcmp(name, "send-mail") == 0)
		return sendmail_main(argc, argv);
	if (strcmp(name, "mailq") == 0)
		return mailq_main();
	if (strcmp(name, "newaliases") == 0)
		return newaliases_main();
	if (strcmp(name, "makemap") == 0)
		return makemap_main();
	sock = sendmail_path("SMTPD_CONTROL_SOCKET", SMTPD_SOCKET);

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();

	if (argc == 1 && strcmp(argv[0], "reload") == 0) {
		ctl_lines_to_stderr = 1;
		return ctl_request(sock, msg_ctl_request_write(IMSG_CTL_RELOAD,
		    0));
	}
	if (argc == 1 && strcmp(argv[0], "stop") == 0)
		return ctl_request(sock, msg_ctl_request_write(IMSG_CTL_STOP,
		    0));
	if (argc == 3 && strcmp(argv[0], "update") == 0 &&
	    strcmp(argv[1], "table") == 0) {
		struct imsgbuf	 ib;

		imsgbuf_init(&ib, ctl_connect(sock));
		if (imsg_close(&ib, msg_ctl_table_write(0, argv[2])) == -1) {
			fprintf(stderr, "smtpctl: table name too long\n");
			return 1;
		}
		return ctl_send(&ib);
	}
	if (argc == 2 && strcmp(argv[0], "show") == 0) {
		if (strcmp(argv[1], "queue") == 0)
			return ctl_request(sock, msg_ctl_request_write(
			    IMSG_CTL_SHOW_QUEUE, 0));
		if (strcmp(argv[1], "stats") == 0)
			return ctl_request(sock, msg_ctl_request_write(
			    IMSG_CTL_SHOW_STATS, 0));
		if (strcmp(argv[1], "hosts") == 0)
			return ctl_request(sock, msg_ctl_request_write(
			    IMSG_CTL_SHOW_HOSTS, 0));
	}
	if (argc == 3 && strcmp(argv[0], "show") == 0) {
		if (strcmp(argv[1], "envelope") == 0)
			return ctl_queue_request(sock, IMSG_CTL_SHOW_ENVELOPE,
			    argv[2], 0);
		if (strcmp(argv[1], "message") == 0)
			return ctl_queue_request(sock, IMSG_CTL_SHOW_MESSAGE,
			    argv[2], 0);
	}
	if (argc == 2 && strcmp(argv[0], "schedule") == 0)
		return ctl_queue_request(sock, IMSG_CTL_SCHEDULE, argv[1], 1);
	if (argc == 2 && strcmp(argv[0], "remove") == 0)
		return ctl_queue_request(sock, IMSG_CTL_REMOVE, argv[1], 1);
	if (argc == 2 && strcmp(argv[0], "pause") == 0)
		return ctl_pause(sock, IMSG_CTL_PAUSE, argv[1]);
	if (argc == 2 && strcmp(argv[0], "resume") == 0)
		return ctl_pause(sock, IMSG_CTL_RESUME, argv[1]);
	if (argc == 2 && strcmp(argv[0], "log") == 0 &&
	    (strcmp(argv[1], "verbose") == 0 || strcmp(argv[1], "brief") == 0))
		return ctl_request(sock, msg_ctl_verbose_write(
		    strcmp(argv[1], "verbose") == 0));
	usage();
}
