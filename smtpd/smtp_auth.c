/*
 * AUTH in an SMTP session (RFC 4954): PLAIN and LOGIN, offered only
 * over TLS unless the listener says otherwise.  The password goes to
 * the auth process and is wiped here as soon as it has been sent.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "smtpd.h"
#include "smtp.h"
#include "smtp_session.h"
#include "io.h"
#include "auth_creds.h"

int
smtp_auth_offered(struct smtp_session *s)
{
	if (!(s->l->flags & LISTEN_AUTH) || s->authenticated)
		return 0;
	return io_is_tls(s->io) || (s->l->flags & LISTEN_AUTH_PLAINTEXT);
}

/*
 * The user name to check, into s->auth_login.  One too long to be held
 * there is cut and ended with a colon, which no user name in a table
 * holds: it is still checked by the auth process, against a made-up
 * hash, counted and answered late like any unknown user, so that the
 * client learns nothing from its length.
 */
static void
smtp_auth_name(struct smtp_session *s, const char *user)
{
	size_t	 len = strlen(user);

	if (len < sizeof(s->auth_login)) {
		memmove(s->auth_login, user, len + 1);
		return;
	}
	memmove(s->auth_login, user, sizeof(s->auth_login) - 2);
	s->auth_login[sizeof(s->auth_login) - 2] = ':';
	s->auth_login[sizeof(s->auth_login) - 1] = '\0';
}

static void
smtp_auth_send(struct smtp_session *s, const char *user, const char *pass)
{
	smtp_auth_name(s, user);
	msg_auth_write(s->id, s->auth_login, pass);
	s->waiting = 1;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd. */
static void
smtp_auth_plain(struct smtp_session *s, const char *b64)
{
	unsigned char	 buf[LINE_AUTH];
	const char	*authz, *user, *pass;
	ssize_t		 n;

	s->auth_step = AUTH_NONE;
	if ((n = base64_decode(b64, buf, sizeof(buf) - 1)) <= 0)
		goto bad;
	buf[n] = '\0';
	if (auth_plain_split((char *)buf, n, &authz, &user, &pass) == -1 ||
	    strlen(pass) > AUTH_PASSWORD_MAX ||
	    (authz[0] != '\0' && strcmp(authz, user) != 0))
		goto bad;
	smtp_auth_send(s, user, pass);
	explicit_bzero(buf, sizeof(buf));
	return;
bad:
	explicit_bzero(buf, sizeof(buf));
	smtp_reply(s, "501 5.5.2 Malformed authentication data");
}

static void
smtp_auth_login(struct smtp_session *s, const char *b64)
{
	unsigned char	 buf[LINE_AUTH];
	ssize_t		 n;

	if ((n = base64_decode(b64, buf, sizeof(buf) - 1)) < 0 ||
	    memchr(buf, '\0', n) != NULL) {
		s->auth_step = AUTH_NONE;
		explicit_bzero(buf, sizeof(buf));
		smtp_reply(s, "501 5.5.2 Malformed authentication data");
		return;
	}
	buf[n] = '\0';
	if (s->auth_step == AUTH_LOGIN_USER) {
		if (n == 0) {
			s->auth_step = AUTH_NONE;
			smtp_reply(s, "501 5.5.2 Malformed authentication "
			    "data");
			return;
		}
		smtp_auth_name(s, (char *)buf);
		s->auth_step = AUTH_LOGIN_PASS;
		smtp_reply(s, "334 UGFzc3dvcmQ6");
		return;
	}
	s->auth_step = AUTH_NONE;
	if (n > AUTH_PASSWORD_MAX) {
		explicit_bzero(buf, sizeof(buf));
		smtp_reply(s, "501 5.5.2 Malformed authentication data");
		return;
	}
	smtp_auth_send(s, s->auth_login, (char *)buf);
	explicit_bzero(buf, sizeof(buf));
}

void
smtp_auth_continue(struct smtp_session *s, char *line)
{
	if (strcmp(line, "*") == 0) {
		s->auth_step = AUTH_NONE;
		smtp_reply(s, "501 5.0.0 Authentication cancelled");
		return;
	}
	if (s->auth_step == AUTH_PLAIN_WAIT)
		smtp_auth_plain(s, line);
	else
		smtp_auth_login(s, line);
	explicit_bzero(line, strlen(line));
}

void
smtp_cmd_auth(struct smtp_session *s, char *arg)
{
	char	*mech, *initial;

	mech = arg;
	if ((initial = strchr(arg, ' ')) != NULL)
		*initial++ = '\0';
	/*
	 * A client must wait for a challenge, but PLAIN with its response
	 * on the AUTH line has none: commands may follow it (RFC 4954 4).
	 */
	if ((initial == NULL || strcasecmp(mech, "PLAIN") != 0) &&
	    smtp_pipelined_past(s, "AUTH")) {
		if (initial != NULL)
			explicit_bzero(initial, strlen(initial));
		return;
	}
	if (!(s->l->flags & LISTEN_AUTH)) {
		smtp_reply(s, "502 5.5.1 Command not implemented");
		return;
	}
	if (!io_is_tls(s->io) && !(s->l->flags & LISTEN_AUTH_PLAINTEXT)) {
		smtp_reply(s, "538 5.7.11 Encryption required for requested "
		    "authentication mechanism");
		return;
	}
	if (s->authenticated) {
		smtp_reply(s, "503 5.5.1 Already authenticated");
		return;
	}
	if (s->state < S_HELO || s->state > S_HELO) {
		smtp_reply(s, "503 5.5.1 AUTH not allowed now");
		return;
	}
	if (strcasecmp(mech, "PLAIN") == 0) {
		if (initial == NULL) {
			s->auth_step = AUTH_PLAIN_WAIT;
			smtp_reply(s, "334 ");
		} else if (strcmp(initial, "=") == 0)
			smtp_auth_plain(s, "");
		else
			smtp_auth_plain(s, initial);
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		if (initial == NULL) {
			s->auth_step = AUTH_LOGIN_USER;
			smtp_reply(s, "334 VXNlcm5hbWU6");
		} else {
			s->auth_step = AUTH_LOGIN_USER;
			smtp_auth_login(s, initial);
		}
	} else
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
	if (initial != NULL)
		explicit_bzero(initial, strlen(initial));
}

/*
 * The answer to an AUTH, from lookup: the auth process tells lookup
 * first, so that the login is lookup's own fact, not our word.
 */
void
smtp_session_auth_reply(uint32_t id, struct imsg *imsg)
{
	struct smtp_session	*s;
	struct msg_login	 l;
	const char		*user = l.user;
	uint32_t		 status;

	if (msg_login_read(imsg, &l) == -1)
		fatalx("smtp: bad auth answer from lookup");
	status = l.status;
	if ((s = smtp_session_find(id)) == NULL || !s->waiting)
		fatalx("smtp: auth answer for no question");
	s->waiting = 0;
	if (s->dead) {
		smtp_free(s, "disconnected");
		return;
	}
	switch (status) {
	case AUTH_OK:
		s->authenticated = 1;
		strlcpy(s->auth_user, user, sizeof(s->auth_user));
		log_info("smtp-in session=%08x address=%s user=%s "
		    "result=authenticated", s->id, s->addr, s->auth_user);
		smtp_reply(s, "235 2.7.0 Authentication successful");
		break;
	case AUTH_BLOCKED:
		smtp_reply(s, "421 4.7.0 Too many authentication failures");
		smtp_close_after_reply(s, "auth-blocked");
		break;
	case AUTH_TEMPFAIL:
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	default:
		smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
		break;
	}
	explicit_bzero(s->auth_login, sizeof(s->auth_login));
	smtp_process(s);
}
