/*
 * The catalogue of messages between the processes: a number for each,
 * named for the pair that exchanges it.  Part of the runtime, so that
 * proc.c can know the few it handles itself; what each carries is said
 * where it is written and read.
 */
#ifndef IMSG_TYPES_H
#define IMSG_TYPES_H

/* Message types, grouped by the pair that exchanges them. */
enum imsg_type {
	IMSG_NONE,

	IMSG_PARENT_LISTENER,		/* parent -> smtp, with fd */
	IMSG_PARENT_LISTENERS_DONE,
	IMSG_PARENT_CONTROL_SOCKET,	/* parent -> control, with fd */
	IMSG_PARENT_RELOAD,		/* a generation's files, with fd */
	IMSG_RELOAD_DONE,		/* -> parent: switched to it */

	/*
	 * The listener's questions carry only what a client said; the
	 * facts (its address, the listener, a login) lookup establishes
	 * itself or hears from auth, and the envelopes go from lookup
	 * straight to the queue.
	 */
	IMSG_SMTP_LOOKUP_CONNECT,	/* with the client's socket */
	IMSG_LOOKUP_SMTP_CONNECT,
	IMSG_SMTP_LOOKUP_MAIL,
	IMSG_LOOKUP_SMTP_MAIL,
	IMSG_SMTP_LOOKUP_RCPT,
	IMSG_LOOKUP_SMTP_RCPT,
	IMSG_SMTP_LOOKUP_VRFY,
	IMSG_LOOKUP_SMTP_VRFY,
	IMSG_SMTP_LOOKUP_EXPN,
	IMSG_LOOKUP_SMTP_EXPN,
	IMSG_SMTP_LOOKUP_DATA,		/* the transaction goes to the queue */
	IMSG_LOOKUP_SMTP_DATA,		/* ... or is refused */
	IMSG_SMTP_LOOKUP_TLS,		/* STARTTLS done: forget the login */
	IMSG_SMTP_LOOKUP_CLOSE,		/* the session is over */
	IMSG_LOOKUP_SMTP_LOCAL,		/* before CONNECT: the local user */
	IMSG_LOOKUP_SMTP_WARN,		/* before MAIL: a sender to mark */

	IMSG_SMTP_LOOKUP_AUTH,		/* user and password, to be checked */
	IMSG_LOOKUP_AUTH_CHECK,		/* ... with the session's facts */
	IMSG_AUTH_LOOKUP_RESULT,	/* lookup learns the login first */
	IMSG_LOOKUP_SMTP_AUTH,

	IMSG_LOOKUP_QUEUE_ENVELOPE,	/* one envelope, in its text format */
	IMSG_LOOKUP_QUEUE_CREATE,	/* a message file for a session */
	IMSG_LOOKUP_QUEUE_CLOSE,	/* the session is over */
	IMSG_QUEUE_SMTP_CREATE,		/* with the write end of a pipe */
	IMSG_SMTP_QUEUE_COMMIT,
	IMSG_QUEUE_SMTP_COMMIT,
	IMSG_SMTP_QUEUE_ROLLBACK,

	IMSG_QUEUE_LOOKUP_RCPT,		/* where a bounce goes */
	IMSG_LOOKUP_QUEUE_RCPT,
	IMSG_QUEUE_PARENT_DELIVER,	/* with the message fd */
	IMSG_PARENT_QUEUE_DELIVERED,
	IMSG_LOOKUP_PARENT_FORWARD,	/* read a user's ~/.forward */
	IMSG_PARENT_LOOKUP_FORWARD,

	/*
	 * Outbound relay: the queue hands the mta the recipients of one
	 * message for one destination (with the message file, read-only)
	 * and the mta answers once per recipient.
	 */
	IMSG_QUEUE_MTA_TRANSFER,	/* with the message fd */
	IMSG_MTA_QUEUE_RESULT,
	IMSG_CTL_SHOW_HOSTS,		/* smtpctl -> control -> mta */

	IMSG_CTL_STOP,
	IMSG_CTL_RELOAD,		/* smtpctl -> control -> parent */
	IMSG_CTL_VERBOSE,
	IMSG_CTL_UPDATE_TABLE,		/* smtpctl -> control -> parent */
	IMSG_PARENT_UPDATE_TABLE,	/* ... -> lookup, with the file */
	IMSG_CTL_SHOW_QUEUE,		/* smtpctl -> control -> queue */
	IMSG_CTL_SHOW_ENVELOPE,
	IMSG_CTL_SHOW_MESSAGE,		/* answered by OK with the file */
	IMSG_CTL_SCHEDULE,
	IMSG_CTL_REMOVE,
	IMSG_CTL_PAUSE,			/* -> queue (mda, mta) or smtp */
	IMSG_CTL_RESUME,
	IMSG_CTL_SHOW_STATS,		/* -> smtp, then queue */
	IMSG_CTL_LINE,			/* one line of a longer answer */
	IMSG_CTL_END,			/* the last of them */
	IMSG_CTL_OK,
	IMSG_CTL_FAIL,

	IMSG_TYPE_COUNT
};

#endif
