/*
 * The parsed configuration: defaults, the checks that need the whole
 * file, and freeing it.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd.h"

struct smtpd_config *
config_new(void)
{
	struct smtpd_config	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	if (gethostname(c->hostname, sizeof(c->hostname)) == -1)
		strlcpy(c->hostname, "localhost", sizeof(c->hostname));
	strlcpy(c->queue_dir, SMTPD_QUEUE_DIR, sizeof(c->queue_dir));
	strlcpy(c->control_socket, SMTPD_SOCKET, sizeof(c->control_socket));
	c->max_message_size = SMTPD_MAXMESSAGESIZE;
	TAILQ_INIT(&c->listeners);
	TAILQ_INIT(&c->tables);
	TAILQ_INIT(&c->actions);
	TAILQ_INIT(&c->rules);
	return c;
}

void
config_free(struct smtpd_config *c)
{
	struct listener		*l;
	struct table		*t;
	struct action		*a;
	struct policy_rule	*r;

	if (c == NULL)
		return;
	while ((l = TAILQ_FIRST(&c->listeners)) != NULL) {
		TAILQ_REMOVE(&c->listeners, l, entry);
		free(l);
	}
	while ((t = TAILQ_FIRST(&c->tables)) != NULL) {
		TAILQ_REMOVE(&c->tables, t, entry);
		table_free(t);
	}
	while ((a = TAILQ_FIRST(&c->actions)) != NULL) {
		TAILQ_REMOVE(&c->actions, a, entry);
		free(a);
	}
	while ((r = TAILQ_FIRST(&c->rules)) != NULL) {
		TAILQ_REMOVE(&c->rules, r, entry);
		free(r);
	}
	free(c);
}

struct action *
config_action(struct smtpd_config *c, const char *name)
{
	struct action	*a;

	TAILQ_FOREACH(a, &c->actions, entry)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* What can only be judged once the whole file is read. */
int
config_check(struct smtpd_config *c)
{
	struct action	*a;
	int		 errors = 0;

	if (TAILQ_EMPTY(&c->listeners)) {
		log_warnx("%s: no listen directive", c->file);
		errors++;
	}
	if (TAILQ_EMPTY(&c->rules))
		log_warnx("%s: no match rule: every recipient will be "
		    "refused", c->file);
	TAILQ_FOREACH(a, &c->actions, entry)
		if (!a->used)
			log_warnx("%s:%d: action \"%s\" is never used",
			    c->file, a->line, a->name);
	return errors ? -1 : 0;
}
