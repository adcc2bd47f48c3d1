/*
 * ~/.forward, read by the parent: the lookup process may not look into
 * home directories, so it asks for a local user's file here; and at
 * delivery the parent reads it again, to run a file or command target
 * as a user only while that user's own file still names it.
 *
 * The file is opened as root, so it must be one the user vouches for:
 * a regular file, no symbolic link and not linked elsewhere, owned by
 * the user or root, writable by nobody else, and small.  Anything else
 * is ignored, and logged.  The question comes from lookup, which runs
 * unprivileged and may be compromised: one that is not exactly what
 * lookup writes (forward_msg.c) is logged and dropped.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd.h"
#include "mda.h"
#include "forward_msg.h"

/* Why a file opened as fd is not to be trusted, or NULL. */
static const char *
forward_unsafe(int fd, const struct passwd *pw, struct stat *sb)
{
	if (fstat(fd, sb) == -1)
		return strerror(errno);
	if (!S_ISREG(sb->st_mode))
		return "not a regular file";
	if (sb->st_uid != pw->pw_uid && sb->st_uid != 0)
		return "owned by neither the user nor root";
	if (sb->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others";
	if (sb->st_nlink != 1)
		return "linked elsewhere";
	if (sb->st_size > FORWARD_SIZE_MAX)
		return "larger than 64 KiB";
	return NULL;
}

/*
 * The text of the user's ~/.forward, or NULL: why then says why the
 * file is not used, and is empty when there is simply none.
 */
char *
forward_read(const struct passwd *pw, char *why, size_t whylen)
{
	struct stat	 sb;
	const char	*bad;
	char		 path[PATH_MAX], *text;
	size_t		 len;
	int		 fd;

	why[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/.forward", pw->pw_dir) >=
	    sizeof(path)) {
		snprintf(why, whylen, "path too long");
		return NULL;
	}
	/* O_NONBLOCK: a FIFO planted there must not hang the parent. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ELOOP)
			snprintf(why, whylen, "a symbolic link");
		else if (errno != ENOENT && errno != ENOTDIR)
			snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	if ((bad = forward_unsafe(fd, pw, &sb)) != NULL) {
		snprintf(why, whylen, "%s", bad);
		close(fd);
		return NULL;
	}
	text = read_small(fd, FORWARD_SIZE_MAX, &len);
	close(fd);
	if (text == NULL) {
		snprintf(why, whylen, "%s", errno == EFBIG ?
		    "larger than 64 KiB" : strerror(errno));
		return NULL;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(why, whylen, "not a text file");
		free(text);
		return NULL;
	}
	return text;
}

static void
forward_answer(uint32_t id, const char *user, uint32_t status,
    const char *piece)
{
	struct msg_forward	 f;

	strlcpy(f.user, user, sizeof(f.user));
	f.status = status;
	strlcpy(f.piece, piece, sizeof(f.piece));
	msg_forward_write(id, &f);
}

/*
 * Lookup asks for a user's ~/.forward.  It always gets an answer, so
 * that no recipient waits for ever; a question that does not read
 * cleanly gets none, as it names no one to answer about.
 */
void
forward_lookup(struct imsg *imsg)
{
	char		 user[MSG_FORWARD_USER_MAX], why[128];
	char		 piece[FORWARD_CHUNK_MAX + 1], *text = NULL;
	const struct mda_user *u;
	struct passwd	 pw;
	size_t		 len, off = 0, take;

	if (msg_forward_ask_read(imsg, user, sizeof(user)) == -1) {
		log_warnx("forward: result=refused imsg=%u from=lookup "
		    "reason=\"malformed question\"", imsg->hdr.type);
		return;
	}
	/* The users delivery remembers: asked of NSS once a minute. */
	if ((u = mda_user_get(user)) != NULL) {
		mda_user_passwd(u, &pw);
		if ((text = forward_read(&pw, why, sizeof(why))) == NULL &&
		    why[0] != '\0')
			log_warnx("forward: ~%s/.forward ignored: %s", user,
			    why);
	}
	if (text == NULL) {
		forward_answer(imsg->hdr.peerid, user, FORWARD_NONE, "");
		return;
	}
	len = strlen(text);
	do {
		take = len - off > FORWARD_CHUNK_MAX ? FORWARD_CHUNK_MAX :
		    len - off;
		memcpy(piece, text + off, take);
		piece[take] = '\0';
		off += take;
		forward_answer(imsg->hdr.peerid, user, off < len ?
		    FORWARD_MORE : FORWARD_END, piece);
	} while (off < len);
	free(text);
}

/*
 * Whether target ("/file" or "|command") is still an entry of the
 * user's ~/.forward, as lookup found it there.
 */
int
forward_allows(const struct passwd *pw, const char *target)
{
	char	*text, *p, *m, why[128];
	int	 found = 0;

	if ((text = forward_read(pw, why, sizeof(why))) == NULL)
		return 0;
	p = text;
	while (!found && (m = member_next(&p)) != NULL)
		found = strcmp(m, target) == 0;
	free(text);
	return found;
}
