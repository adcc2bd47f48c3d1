/*
 * smtpctl: talks to a running smtpd over its control socket.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

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
	    "commands: stop, log verbose, log brief, update table NAME\n");
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

/* Send what is queued on ib, then print the one answer. */
static int
ctl_send(struct imsgbuf *ib)
{
	struct imsg	 imsg;
	struct pollfd	 pfd;
	char		 text[1024];
	ssize_t		 n;
	int		 r;

	if (imsgbuf_flush(ib) == -1) {
		perror("smtpctl: write");
		return 1;
	}
	for (;;) {
		pfd.fd = ib->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR) {
			perror("smtpctl: poll");
			return 1;
		}
		if ((n = imsgbuf_read(ib)) == -1 && errno == EAGAIN)
			continue;
		if (n <= 0) {
			if (n == 0)
				fprintf(stderr, "smtpctl: smtpd closed the "
				    "connection (permission denied?)\n");
			else
				perror("smtpctl: read");
			return 1;
		}
		if ((r = imsg_get(ib, &imsg)) == -1) {
			fprintf(stderr, "smtpctl: bad answer from smtpd\n");
			return 1;
		}
		if (r == 1)
			break;
	}
	imsg_get_string(&imsg, text, sizeof(text));
	if (imsg_end(&imsg) == -1) {
		fprintf(stderr, "smtpctl: bad answer from smtpd\n");
		return 1;
	}
	r = imsg.hdr.type == IMSG_CTL_OK ? 0 : 1;
	fprintf(r ? stderr : stdout, "%s\n", text);
	imsg_free(&imsg);
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
	if (argc == 2 && strcmp(argv[0], "log") == 0 &&
	    (strcmp(argv[1], "verbose") == 0 || strcmp(argv[1], "brief") == 0)) {
		v = strcmp(argv[1], "verbose") == 0;
		fd = ctl_connect(sock);
		return ctl_request(fd, IMSG_CTL_VERBOSE, &v, sizeof(v));
	}
	usage();
}
