/*
 * Credentials and the failure rate limiter of the auth process.
 *
 * A credentials table holds one user per entry, either as "user hash"
 * (a key and a value) or as a single word "user:hash", split at the
 * first ':'.  Hashes are crypt(3) strings; only the algorithms that
 * are still fit for passwords are accepted.
 *
 * User names and client addresses come from the network through the
 * listener: they are only ever looked up and counted, never trusted.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd.h"
#include "auth_creds.h"

/* bcrypt, yescrypt, sha512-crypt and sha256-crypt. */
static const char *const creds_prefixes[] = {
	"$2b$", "$2y$", "$y$", "$6$", "$5$"
};

/* Checked against when there is no usable entry for the user. */
static char	 creds_dummy[CRYPT_OUTPUT_SIZE];

int
creds_hash_usable(const char *hash)
{
	size_t	 i, len;

	if (strnlen(hash, CRYPT_OUTPUT_SIZE) >= CRYPT_OUTPUT_SIZE)
		return 0;
	for (i = 0; i < sizeof(creds_prefixes) / sizeof(creds_prefixes[0]);
	    i++) {
		len = strlen(creds_prefixes[i]);
		/* A prefix alone is no hash. */
		if (strncmp(hash, creds_prefixes[i], len) == 0 &&
		    hash[len] != '\0')
			return 1;
	}
	return 0;
}

/*
 * The entry with the smallest key at or (strict) above key.  The table
 * offers no ordered search, so walk its tree here: keys are kept in
 * strcmp order, and all "user:hash" keys of a user sit together.
 */
static struct table_entry *
creds_lower_bound(struct table *t, const char *key, int strict)
{
	struct table_entry	*e, *best = NULL;
	int			 c;

	e = RB_ROOT(&t->entries);
	while (e != NULL) {
		c = strcmp(e->key, key);
		if (c > 0 || (c == 0 && !strict)) {
			best = e;
			e = RB_LEFT(e, node);
		} else
			e = RB_RIGHT(e, node);
	}
	return best;
}

/*
 * The entries for user: returns how many there are, with the hash of
 * the first and the entry it came from.  More than one is an error in
 * the table; the caller refuses the user rather than pick one.
 */
static int
creds_find(struct table *t, const char *user, const char **hash,
    struct table_entry **first)
{
	struct table_entry	*e;
	char			 prefix[AUTH_USER_MAX + 2];
	size_t			 plen;
	int			 n = 0;

	*hash = NULL;
	if (first != NULL)
		*first = NULL;
	plen = strlen(user);
	if (plen == 0 || plen > AUTH_USER_MAX)
		return 0;
	if ((e = creds_lower_bound(t, user, 0)) != NULL &&
	    strcmp(e->key, user) == 0) {
		/* A lone "user" with neither value nor ':' has no hash. */
		*hash = e->value != NULL ? e->value : "";
		if (first != NULL)
			*first = e;
		n++;
	}
	memcpy(prefix, user, plen);
	prefix[plen++] = ':';
	prefix[plen] = '\0';
	for (e = creds_lower_bound(t, prefix, 0);
	    e != NULL && strncmp(e->key, prefix, plen) == 0;
	    e = creds_lower_bound(t, e->key, 1)) {
		/* "user:x hash" is the entry of a user named "user:x". */
		if (e->value != NULL)
			continue;
		if (n++ == 0) {
			*hash = e->key + plen;
			if (first != NULL)
				*first = e;
		}
	}
	return n;
}

/* The user an entry is for, and its hash, without copying either. */
static void
creds_split(struct table_entry *e, const char **user, size_t *ulen,
    const char **hash)
{
	const char	*colon;

	*user = e->key;
	if (e->value != NULL) {
		*ulen = strlen(e->key);
		*hash = e->value;
	} else if ((colon = strchr(e->key, ':')) != NULL) {
		*ulen = colon - e->key;
		*hash = colon + 1;
	} else {
		*ulen = strlen(e->key);
		*hash = "";
	}
}

struct creds_walk {
	struct table	*t;
	creds_report_fn	 report;
	void		*arg;
	size_t		 usable;
	const char	*typical;	/* hash of the first usable entry */
};

static void
creds_report(struct creds_walk *w, const char *user, size_t ulen,
    enum creds_problem problem)
{
	char	 name[AUTH_USER_MAX + 1], *colon;

	if (w->report == NULL)
		return;
	/* Only ever the user part: a malformed key may hold a hash. */
	if (ulen > AUTH_USER_MAX)
		ulen = AUTH_USER_MAX;
	memcpy(name, user, ulen);
	name[ulen] = '\0';
	if ((colon = strchr(name, ':')) != NULL)
		*colon = '\0';
	w->report(name, problem, w->arg);
}

static void
creds_check_entry(struct creds_walk *w, struct table_entry *e)
{
	struct table_entry	*first;
	const char		*user, *hash;
	char			 name[AUTH_USER_MAX + 1];
	size_t			 ulen;
	int			 n;

	creds_split(e, &user, &ulen, &hash);
	if (ulen == 0 || ulen > AUTH_USER_MAX ||
	    memchr(user, ':', ulen) != NULL) {
		creds_report(w, user, ulen, CREDS_BAD_USER);
		return;
	}
	memcpy(name, user, ulen);
	name[ulen] = '\0';
	n = creds_find(w->t, name, &hash, &first);
	/* Report a user once, at its first entry. */
	if (first != e)
		return;
	if (n > 1)
		creds_report(w, user, ulen, CREDS_DUPLICATE);
	else if (!creds_hash_usable(hash))
		creds_report(w, user, ulen, CREDS_BAD_HASH);
	else {
		w->usable++;
		if (w->typical == NULL)
			w->typical = hash;
	}
}

/* In key order; the depth is that of a balanced tree. */
static void
creds_walk(struct creds_walk *w, struct table_entry *e)
{
	if (e == NULL)
		return;
	creds_walk(w, RB_LEFT(e, node));
	creds_check_entry(w, e);
	creds_walk(w, RB_RIGHT(e, node));
}

/*
 * Look at every entry of a freshly loaded table: report each user that
 * can never log in, and why.  Returns the number of usable users.
 */
size_t
creds_check(struct table *t, creds_report_fn report, void *arg)
{
	struct creds_walk	 w;

	memset(&w, 0, sizeof(w));
	w.t = t;
	w.report = report;
	w.arg = arg;
	creds_walk(&w, RB_ROOT(&t->entries));
	return w.usable;
}

/*
 * Compare in time that depends on len only.  libbsd before 0.11.8 has
 * no timingsafe_bcmp(3), so this is its equivalent.
 */
static int
creds_bcmp(const void *a, const void *b, size_t len)
{
	const volatile unsigned char	*p = a, *q = b;
	unsigned char			 diff = 0;
	size_t				 i;

	for (i = 0; i < len; i++)
		diff |= p[i] ^ q[i];
	return diff != 0;
}

/*
 * Whether password hashes to hash.  The crypt state holds what it
 * derived from the password, so it lives on the heap and is wiped.
 */
static int
creds_match(const char *password, const char *hash)
{
	struct crypt_data	*cd;
	const char		*out;
	size_t			 len;
	int			 match = 0;

	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	out = crypt_rn(password, hash, cd, sizeof(*cd));
	len = strlen(hash);
	if (out != NULL && strlen(out) == len &&
	    creds_bcmp(out, hash, len) == 0)
		match = 1;
	freezero(cd, sizeof(*cd));
	return match;
}

/*
 * Compute the hash checked against for users with no usable entry.  It
 * takes the algorithm, cost and salt of the first usable entry of t (or
 * is a yescrypt hash when there is none), so that an unknown user costs
 * what a typical known one does and timing does not tell them apart.
 */
int
creds_init(struct table *t)
{
	struct crypt_data	*cd;
	struct creds_walk	 w;
	const char		*setting = NULL, *out;
	unsigned char		 rnd[16];
	char			 phrase[sizeof(rnd) * 2 + 1];
	size_t			 i;
	int			 rc = -1;

	memset(&w, 0, sizeof(w));
	if (t != NULL) {
		w.t = t;
		creds_walk(&w, RB_ROOT(&t->entries));
		setting = w.typical;
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	if (setting == NULL)
		setting = crypt_gensalt_rn("$y$", 0, NULL, 0, cd->setting,
		    sizeof(cd->setting));
	/* A password nobody knows; the dummy must never match anyway. */
	arc4random_buf(rnd, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++) {
		phrase[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
		phrase[2 * i + 1] = "0123456789abcdef"[rnd[i] & 0xf];
	}
	phrase[sizeof(phrase) - 1] = '\0';
	if (setting != NULL &&
	    (out = crypt_rn(phrase, setting, cd, sizeof(*cd))) != NULL &&
	    strlcpy(creds_dummy, out, sizeof(creds_dummy)) <
	    sizeof(creds_dummy))
		rc = 0;
	else
		creds_dummy[0] = '\0';
	explicit_bzero(phrase, sizeof(phrase));
	explicit_bzero(rnd, sizeof(rnd));
	freezero(cd, sizeof(*cd));
	return rc;
}

/*
 * AUTH_OK when password is the user's, else AUTH_FAIL.  A user who is
 * not in the table, or whose entry is unusable, is still checked
 * against the dummy hash so that the answer takes as long as for a
 * known user with a wrong password.  The password is never copied; the
 * only derived state is wiped in creds_match().
 */
int
creds_verify(struct table *t, const char *user, const char *password)
{
	const char	*hash;
	size_t		 ulen, plen;
	int		 known, match;

	if (t == NULL || user == NULL || password == NULL)
		return AUTH_FAIL;
	ulen = strnlen(user, AUTH_USER_MAX + 1);
	plen = strnlen(password, AUTH_PASSWORD_MAX + 1);
	if (ulen == 0 || ulen > AUTH_USER_MAX ||
	    plen == 0 || plen > AUTH_PASSWORD_MAX)
		return AUTH_FAIL;
	if (creds_dummy[0] == '\0' && creds_init(NULL) == -1)
		return AUTH_FAIL;
	known = strchr(user, ':') == NULL &&
	    creds_find(t, user, &hash, NULL) == 1 && creds_hash_usable(hash);
	if (!known)
		hash = creds_dummy;
	match = creds_match(password, hash);
	return known && match ? AUTH_OK : AUTH_FAIL;
}

/*
 * The rate limiter.  Failures are counted twice: per client network, so
 * that one source cannot guess on and on, and per user, so that many
 * sources cannot guess one password together.  A network is an IPv4
 * address or an IPv6 /64, the least a host is usually given; so a host
 * does not get a fresh count with each of its addresses.  A success
 * clears only the count of the user who logged in: a client with an
 * account of its own must not clear what it failed for others.
 *
 * Each kind is a set of entries with a tree, for look-ups, and a list
 * in order of the last failure, so that the least recently failing one
 * goes first when the set is full; a user name cannot push a network
 * out.  A run of failures lasts AUTH_WINDOW from its first failure.
 */
struct limiter_entry {
	RB_ENTRY(limiter_entry)		 node;
	TAILQ_ENTRY(limiter_entry)	 lru;
	char				*key;
	time_t				 first;
	size_t				 failures;
};
RB_HEAD(limiter_tree, limiter_entry);

struct limiter_set {
	struct limiter_tree			 tree;
	TAILQ_HEAD(, limiter_entry)		 lru;
	size_t					 count;
	size_t					 max_failures;
};

struct auth_limiter {
	struct limiter_set			 nets;
	struct limiter_set			 users;
	size_t					 max;	/* per set */
	int					 delay;
};

static int
limiter_entry_cmp(struct limiter_entry *a, struct limiter_entry *b)
{
	return strcmp(a->key, b->key);
}

RB_GENERATE_STATIC(limiter_tree, limiter_entry, node, limiter_entry_cmp);

static void
limiter_set_init(struct limiter_set *set, size_t max_failures)
{
	RB_INIT(&set->tree);
	TAILQ_INIT(&set->lru);
	set->count = 0;
	set->max_failures = max_failures;
}

/*
 * Block a network after max_net failures within the window, and a user
 * after max_user; a failed attempt is answered after failures * delay
 * seconds, counting the larger of the two, at most AUTH_DELAY_STEPS *
 * delay.  At most max networks and max users are tracked (0: the
 * default).
 */
struct auth_limiter *
limiter_new(size_t max_net, size_t max_user, int delay, size_t max)
{
	struct auth_limiter	*l;

	if (max_net == 0 || max_user == 0 || delay < 0 ||
	    delay > INT_MAX / AUTH_DELAY_STEPS) {
		errno = EINVAL;
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	limiter_set_init(&l->nets, max_net);
	limiter_set_init(&l->users, max_user);
	l->max = max > 0 ? max : AUTH_LIMITER_MAX;
	l->delay = delay;
	return l;
}

static void
limiter_remove(struct limiter_set *set, struct limiter_entry *e)
{
	RB_REMOVE(limiter_tree, &set->tree, e);
	TAILQ_REMOVE(&set->lru, e, lru);
	free(e->key);
	free(e);
	set->count--;
}

static void
limiter_set_clear(struct limiter_set *set)
{
	struct limiter_entry	*e;

	while ((e = TAILQ_FIRST(&set->lru)) != NULL)
		limiter_remove(set, e);
}

void
limiter_free(struct auth_limiter *l)
{
	if (l == NULL)
		return;
	limiter_set_clear(&l->nets);
	limiter_set_clear(&l->users);
	free(l);
}

static int
limiter_expired(const struct limiter_entry *e, time_t now)
{
	return now - e->first >= AUTH_WINDOW;
}

/* The entry of a run still in its window; an ended run is forgotten. */
static struct limiter_entry *
limiter_find(struct limiter_set *set, const char *key, time_t now)
{
	struct limiter_entry	 needle, *e;

	needle.key = (char *)key;
	if ((e = RB_FIND(limiter_tree, &set->tree, &needle)) == NULL)
		return NULL;
	if (limiter_expired(e, now)) {
		limiter_remove(set, e);
		return NULL;
	}
	return e;
}

static size_t
limiter_set_failures(struct limiter_set *set, const char *key, time_t now)
{
	struct limiter_entry	*e;

	if ((e = limiter_find(set, key, now)) == NULL)
		return 0;
	return e->failures;
}

/* The network of addr, or addr itself should it not fit. */
static const char *
limiter_net_key(const char *addr, char *buf, size_t len)
{
	return addr_network(addr, buf, len) == 0 ? buf : addr;
}

/*
 * Whether an attempt for user from addr may be checked: LIMITER_OK, or
 * which count has reached its limit, the network's first.
 */
int
limiter_blocked(struct auth_limiter *l, const char *addr, const char *user,
    time_t now)
{
	char	 net[ADDR_NETWORK_MAX];

	if (limiter_set_failures(&l->nets, limiter_net_key(addr, net,
	    sizeof(net)), now) >= l->nets.max_failures)
		return LIMITER_NETWORK;
	if (limiter_set_failures(&l->users, user, now) >=
	    l->users.max_failures)
		return LIMITER_USER;
	return LIMITER_OK;
}

size_t
limiter_net_failures(struct auth_limiter *l, const char *addr, time_t now)
{
	char	 net[ADDR_NETWORK_MAX];

	return limiter_set_failures(&l->nets, limiter_net_key(addr, net,
	    sizeof(net)), now);
}

size_t
limiter_user_failures(struct auth_limiter *l, const char *user, time_t now)
{
	return limiter_set_failures(&l->users, user, now);
}

/* Make room for one more: ended runs first, then the stalest. */
static void
limiter_make_room(struct limiter_set *set, size_t max, time_t now)
{
	struct limiter_entry	*e;

	while ((e = TAILQ_FIRST(&set->lru)) != NULL && limiter_expired(e, now))
		limiter_remove(set, e);
	while (set->count >= max && (e = TAILQ_FIRST(&set->lru)) != NULL)
		limiter_remove(set, e);
}

/* One more failure for key; its count, or 0 when out of memory. */
static size_t
limiter_count_failure(struct limiter_set *set, size_t max, const char *key,
    time_t now)
{
	struct limiter_entry	*e;

	if ((e = limiter_find(set, key, now)) == NULL) {
		limiter_make_room(set, max, now);
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return 0;
		if ((e->key = strdup(key)) == NULL) {
			free(e);
			return 0;
		}
		e->first = now;
		RB_INSERT(limiter_tree, &set->tree, e);
		TAILQ_INSERT_TAIL(&set->lru, e, lru);
		set->count++;
	} else {
		TAILQ_REMOVE(&set->lru, e, lru);
		TAILQ_INSERT_TAIL(&set->lru, e, lru);
	}
	if (e->failures < SIZE_MAX)
		e->failures++;
	return e->failures;
}

/*
 * Record a failure for user from addr.  Returns how many seconds to
 * wait before answering it, or -1 when out of memory.
 */
int
limiter_failure(struct auth_limiter *l, const char *addr, const char *user,
    time_t now)
{
	char	 net[ADDR_NETWORK_MAX];
	size_t	 n, u, steps;

	n = limiter_count_failure(&l->nets, l->max, limiter_net_key(addr, net,
	    sizeof(net)), now);
	u = limiter_count_failure(&l->users, l->max, user, now);
	if (n == 0 || u == 0)
		return -1;
	steps = n > u ? n : u;
	if (steps > AUTH_DELAY_STEPS)
		steps = AUTH_DELAY_STEPS;
	return l->delay * (int)steps;
}

/* user has logged in: its count goes, its network's stays. */
void
limiter_success(struct auth_limiter *l, const char *user)
{
	struct limiter_entry	 needle, *e;

	needle.key = (char *)user;
	if ((e = RB_FIND(limiter_tree, &l->users.tree, &needle)) != NULL)
		limiter_remove(&l->users, e);
}

size_t
limiter_count(const struct auth_limiter *l)
{
	return l->nets.count + l->users.count;
}
