/*
 * smtpctl: talks to a running smtpd over its control socket.  One
 * request, then its answer: lines printed as they come and an end, or a
 * single ok or failure.  The answer to show message brings the message
 * file's descriptor, which is copied to standard output.
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
#include <unistd.h>

#include "smtpd.h"

static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr, "usage: smtpctl [-s socket] command [argument ...]\n"
	    "commands: log brief | verbose, pause mda | mta | smtp,\n"
	    "    remove ID | all, resume mda | mta | smtp, schedule ID | all,\n"
	    "    show envelope EVPID, show hosts, show message ID, "
	    "show queue,\n    show stats,"
	    " stop, update table NAME\n");
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
 * Print one message of the answer.  Returns 0 or 1 (the exit status)
 * for the last message, -1 for a line with more to come.
 */
static int
ctl_print(struct imsg *imsg)
{
	char	 text[CTL_LINE_MAX];

	imsg_get_string(imsg, text, sizeof(text));
	if (imsg_end(imsg) == -1) {
		fprintf(stderr, "smtpctl: bad answer from smtpd\n");
		return 1;
	}
	switch (imsg->hdr.type) {
	case IMSG_CTL_LINE:
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
	case IMSG_CTL_FAIL:
		fflush(stdout);
		fprintf(stderr, "%s\n", text);
		return 1;
	default:
		fprintf(stderr, "smtpctl: bad answer from smtpd\n");
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

static int
ctl_request(int fd, uint32_t type, const void *data, size_t len)
{
	struct imsgbuf	 ib;

	imsgbuf_init(&ib, fd);
	if (imsg_compose(&ib, type, 0, -1, data, len) == -1) {
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
	struct imsgbuf	 ib;
	struct ibuf	*b;
	uint64_t	 id;
	uint32_t	 kind;

	if (ctl_target(arg, all, &kind, &id) == -1 ||
	    (type == IMSG_CTL_SHOW_ENVELOPE && kind != CTL_TARGET_ENVELOPE)) {
		fprintf(stderr, "smtpctl: %s: not %s\n", arg,
		    type == IMSG_CTL_SHOW_ENVELOPE ? "an envelope id" :
		    all ? "an envelope id, a message id or all" :
		    "an envelope id or a message id");
		return 1;
	}
	imsgbuf_init(&ib, ctl_connect(sock));
	b = imsg_create(type, 0, -1);
	imsg_add_u32(b, kind);
	imsg_add_u64(b, id);
	if (imsg_close(&ib, b) == -1) {
		perror("smtpctl");
		return 1;
	}
	return ctl_send(&ib);
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
	return ctl_request(ctl_connect(sock), type, &what, sizeof(what));
}

int
main(int argc, char *argv[])
{
	const char	*sock = SMTPD_SOCKET;
	uint32_t	 v;
	int		 ch, fd;

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

	if (argc == 1 && strcmp(argv[0], "stop") == 0) {
		fd = ctl_connect(sock);
		return ctl_request(fd, IMSG_CTL_STOP, NULL, 0);
	}
	if (argc == 3 && strcmp(argv[0], "update") == 0 &&
	    strcmp(argv[1], "table") == 0) {
		struct imsgbuf	 ib;
		struct ibuf	*b;

		fd = ctl_connect(sock);
		imsgbuf_init(&ib, fd);
		b = imsg_create(IMSG_CTL_UPDATE_TABLE, 0, -1);
		imsg_add_string(b, argv[2]);
		if (imsg_close(&ib, b) == -1) {
			fprintf(stderr, "smtpctl: table name too long\n");
			return 1;
		}
		return ctl_send(&ib);
	}
	if (argc == 2 && strcmp(argv[0], "show") == 0) {
		if (strcmp(argv[1], "queue") == 0)
			return ctl_request(ctl_connect(sock),
			    IMSG_CTL_SHOW_QUEUE, NULL, 0);
		if (strcmp(argv[1], "stats") == 0)
			return ctl_request(ctl_connect(sock),
			    IMSG_CTL_SHOW_STATS, NULL, 0);
		if (strcmp(argv[1], "hosts") == 0)
			return ctl_request(ctl_connect(sock),
			    IMSG_CTL_SHOW_HOSTS, NULL, 0);
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
	    (strcmp(argv[1], "verbose") == 0 || strcmp(argv[1], "brief") == 0)) {
		v = strcmp(argv[1], "verbose") == 0;
		fd = ctl_connect(sock);
		return ctl_request(fd, IMSG_CTL_VERBOSE, &v, sizeof(v));
	}
	usage();
}
