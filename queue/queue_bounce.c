/*
 * Delivery status notifications (RFC 3464): the report the queue sends
 * back to a sender when a recipient failed for good, expired, or has
 * been waiting long.  This file only writes the message; the queue
 * routes and commits it like any other, from the null sender, so a
 * report about a report is never made.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"

#define BOUNCE_HEADERS_MAX	(64 * 1024)

/*
 * Whether the sender asked for this report (RFC 3461 4.1): never for
 * the null sender, never with NOTIFY=NEVER, and with an explicit NOTIFY
 * only for the conditions it names.  Without NOTIFY, failures and
 * delays are reported.
 */
int
bounce_wanted(const struct envelope *e, enum bounce_kind kind)
{
	const char	*word = kind == BOUNCE_FAILED ? "FAILURE" : "DELAY";

	if (e->sender[0] == '\0')
		return 0;
	if (e->dsn_notify[0] == '\0')
		return 1;
	return strcasestr(e->dsn_notify, word) != NULL;
}

/* -1 (and "") for a time past what a date can say, as a damaged file's. */
static int
rfc5322_date(time_t t, char *buf, size_t len)
{
	struct tm	*tm;

	buf[0] = '\0';
	if ((tm = gmtime(&t)) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S +0000", tm) == 0)
		return -1;
	return 0;
}

/* How many digits, 1 to 3, start at p; 0 for none or more. */
static size_t
status_digits(const char *p)
{
	size_t	 n;

	for (n = 0; isdigit((unsigned char)p[n]); n++)
		if (n == 3)
			return 0;
	return n;
}

/*
 * The enhanced status code (RFC 3463: class.subject.detail, 1 to 3
 * digits each past the class) in an error text, or a default.
 */
static void
status_code(const char *err, enum bounce_kind kind, char *out, size_t len)
{
	const char	*p;
	size_t		 subject, detail;

	for (p = err; *p != '\0'; p++) {
		if ((*p != '4' && *p != '5') || p[1] != '.' ||
		    (p != err && !isspace((unsigned char)p[-1])))
			continue;
		if ((subject = status_digits(p + 2)) == 0 ||
		    p[2 + subject] != '.' ||
		    (detail = status_digits(p + 3 + subject)) == 0)
			continue;
		/* A temporary condition that outlived the queue is final. */
		snprintf(out, len, "%c%.*s", kind == BOUNCE_FAILED ? '5' : *p,
		    (int)(2 + subject + detail), p + 1);
		return;
	}
	snprintf(out, len, kind == BOUNCE_FAILED ? "5.0.0" : "4.0.0");
}

/*
 * A field for a line of the report.  Values are checked on the way in,
 * but a reply from a remote server or a damaged queue file must still
 * not end a line or start one of its own: control characters become ?.
 */
static const char *
clean(const char *s, char *buf, size_t len)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; s[i] != '\0' && i < len - 1; i++) {
		c = s[i];
		buf[i] = (c < ' ' && c != '\t') || c == 0x7f ? '?' : c;
	}
	buf[i] = '\0';
	return buf;
}

/*
 * Copy the original message, or its header only, from the queue's
 * file.  Lines are written with LF, as every message in the queue.
 */
static int
copy_original(FILE *out, int msgfd, int headers_only)
{
	char	 buf[8192];
	ssize_t	 n;
	off_t	 off = 0;
	size_t	 i;
	int	 bol = 1;

	while ((n = pread(msgfd, buf, sizeof(buf), off)) > 0) {
		if (headers_only) {
			for (i = 0; i < (size_t)n; i++) {
				if (buf[i] == '\n' && bol)
					return 0;
				bol = buf[i] == '\n';
				if (putc(buf[i], out) == EOF)
					return -1;
			}
			if (off + n > BOUNCE_HEADERS_MAX)
				return 0;
		} else if (fwrite(buf, 1, n, out) != (size_t)n)
			return -1;
		off += n;
	}
	return n == -1 ? -1 : 0;
}

/* Whether an error is a reply of an SMTP or LMTP server. */
static int
error_is_reply(const char *err)
{
	return isdigit((unsigned char)err[0]) &&
	    isdigit((unsigned char)err[1]) && isdigit((unsigned char)err[2]);
}

/*
 * What a report says of the error.  With hide (a local delivery, for a
 * message not submitted on this host) a local agent's own words, such
 * as a command's output or a file's path, stay in the log: the sender
 * learns only that local delivery failed.  Replies of servers (SMTP,
 * LMTP) are passed on as they are.
 */
static const char *
bounce_error_shown(const char *err, int hide)
{
	if (!hide || error_is_reply(err))
		return err;
	return "local delivery failed; the postmaster has the details";
}

/* One field per line, folded by nobody. */
int
bounce_write(FILE *out, const struct envelope *e, int msgfd,
    enum bounce_kind kind, const char *host, time_t now, time_t until,
    int hide)
{
	char		 date[64], arrival[64], status[16], boundary[64];
	char		 retry[64], errbuf[ENVELOPE_ERRMAX];
	char		 sender[ENVELOPE_ADDRMAX], rcpt[ENVELOPE_ADDRMAX];
	char		 envid[ENVELOPE_ADDRMAX], orcpt[ENVELOPE_ORCPTMAX];
	int		 failed = kind == BOUNCE_FAILED;
	int		 headers_only = strcasecmp(e->dsn_ret, "HDRS") == 0;
	const char	*err;

	err = clean(e->lasterr[0] ? e->lasterr : "no error given", errbuf,
	    sizeof(errbuf));
	clean(e->sender, sender, sizeof(sender));
	clean(e->rcpt, rcpt, sizeof(rcpt));
	clean(e->dsn_envid, envid, sizeof(envid));
	clean(e->dsn_orcpt, orcpt, sizeof(orcpt));
	rfc5322_date(now, date, sizeof(date));
	rfc5322_date((time_t)e->created, arrival, sizeof(arrival));
	status_code(err, kind, status, sizeof(status));
	err = bounce_error_shown(err, hide);
	snprintf(boundary, sizeof(boundary), "%016llx/%s",
	    (unsigned long long)e->id, host);

	fprintf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\n", host);
	fprintf(out, "To: <%s>\n", sender);
	fprintf(out, "Subject: %s\n", failed ?
	    "Undelivered Mail Returned to Sender" :
	    "Delayed Mail (still being retried)");
	fprintf(out, "Date: %s\n", date);
	fprintf(out, "Message-ID: <%016llx.%s.%lld@%s>\n",
	    (unsigned long long)e->id, failed ? "failed" : "delayed",
	    (long long)now, host);
	fprintf(out, "Auto-Submitted: auto-replied\n");
	fprintf(out, "MIME-Version: 1.0\n");
	fprintf(out, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\"%s\"\n", boundary);
	fprintf(out, "\nThis is a MIME-encapsulated message.\n\n");

	fprintf(out, "--%s\n", boundary);
	fprintf(out, "Content-Type: text/plain; charset=us-ascii\n\n");
	fprintf(out, "This is the mail system at %s.\n\n", host);
	if (failed)
		fprintf(out, "Your message could not be delivered to one of "
		    "its recipients.\nIt has been given up on; the error "
		    "was:\n\n");
	else
		fprintf(out, "Your message has not been delivered to one of "
		    "its recipients yet.\nDelivery is still being tried; "
		    "nothing needs to be done now.\nThe last error was:\n\n");
	fprintf(out, "    <%s>: %s\n\n", rcpt, err);

	fprintf(out, "--%s\n", boundary);
	fprintf(out, "Content-Type: message/delivery-status\n\n");
	fprintf(out, "Reporting-MTA: dns; %s\n", host);
	if (envid[0] != '\0')
		fprintf(out, "Original-Envelope-Id: %s\n", envid);
	if (arrival[0] != '\0')
		fprintf(out, "Arrival-Date: %s\n", arrival);
	fprintf(out, "\n");
	fprintf(out, "Final-Recipient: rfc822; %s\n", rcpt);
	if (orcpt[0] != '\0')
		fprintf(out, "Original-Recipient: %s\n", orcpt);
	fprintf(out, "Action: %s\n", failed ? "failed" : "delayed");
	fprintf(out, "Status: %s\n", status);
	if (e->remote_mta[0] != '\0')
		fprintf(out, "Remote-MTA: dns; %s\n", e->remote_mta);
	/* An SMTP reply is "smtp"; a local agent's words are not. */
	fprintf(out, "Diagnostic-Code: %s; %s\n", error_is_reply(err) ?
	    "smtp" : "x-local", err);
	fprintf(out, "Last-Attempt-Date: %s\n", date);
	if (!failed && rfc5322_date(until, retry, sizeof(retry)) == 0)
		fprintf(out, "Will-Retry-Until: %s\n", retry);
	fprintf(out, "\n--%s\n", boundary);
	fprintf(out, "Content-Type: %s\n\n", headers_only ?
	    "text/rfc822-headers" : "message/rfc822");
	if (copy_original(out, msgfd, headers_only) == -1)
		return -1;
	fprintf(out, "\n--%s--\n", boundary);
	return ferror(out) ? -1 : 0;
}
