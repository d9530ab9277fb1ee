// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "loader.h"
#include "log.h"

struct ljob {
	struct ljob *next;
	loader_fn work, done;
	void *arg;
};

/* A FIFO of jobs. */
struct ljobs {
	struct ljob *head, **tail;
};

/*
 * Locking: @lock guards @todo, @finished and @stop (both threads). The
 * thread and @efd are set before the thread starts and then read only.
 * @pending, @done_max_* and @ev are the loop thread's alone.
 */
struct loader {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ljobs todo; /* queued, not started */
	struct ljobs finished; /* worked, @done not run yet */
	bool stop;
	int efd; /* eventfd: "finished is not empty", read by the loop */
	struct event *ev;
	unsigned int pending;
	uint64_t done_max_ns; /* the longest @done callback, wall clock */
	uint64_t done_max_cpu_ns; /* ... in the loop thread's CPU time */
	char name[16]; /* the thread's */
};

static void push(struct ljobs *q, struct ljob *j)
{
	j->next = NULL;
	*q->tail = j;
	q->tail = &j->next;
}

static struct ljob *pop(struct ljobs *q)
{
	struct ljob *j = q->head;

	if (j) {
		q->head = j->next;
		if (!q->head)
			q->tail = &q->head;
	}
	return j;
}

static void *loader_main(void *arg)
{
	struct loader *l = arg;
	uint64_t one = 1;
	struct ljob *j;

	/*
	 * Named for top -H, perf and bench/certd_crlload.sh. It keeps the
	 * normal priority: at SCHED_IDLE (measured, Documentation/certd.rst
	 * "Benchmark") loads waited minutes for a CPU on a busy machine.
	 */
	pthread_setname_np(pthread_self(), l->name);

	for (;;) {
		pthread_mutex_lock(&l->lock);
		while (!l->todo.head && !l->stop)
			pthread_cond_wait(&l->cond, &l->lock);
		j = pop(&l->todo);
		pthread_mutex_unlock(&l->lock);
		if (!j)
			break; /* stopping, and nothing left */
		j->work(j->arg);
		pthread_mutex_lock(&l->lock);
		push(&l->finished, j);
		pthread_mutex_unlock(&l->lock);
		/* Fails only if the counter is full: woken anyway. */
		(void)!write(l->efd, &one, sizeof(one));
	}
	return NULL;
}

static uint64_t elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (uint64_t)(b->tv_sec - a->tv_sec) * 1000000000u +
	       (uint64_t)b->tv_nsec - (uint64_t)a->tv_nsec;
}

/* On the loop: run the @done callbacks of the finished jobs, in order. */
static void run_finished(struct loader *l)
{
	struct ljob *j;

	for (;;) {
		pthread_mutex_lock(&l->lock);
		j = pop(&l->finished);
		pthread_mutex_unlock(&l->lock);
		if (!j)
			break;
		l->pending--;
		if (j->done) {
			struct timespec t0, t1, c0, c1;
			uint64_t ns;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
			j->done(j->arg);
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ns = elapsed_ns(&t0, &t1);
			if (ns > l->done_max_ns)
				l->done_max_ns = ns;
			ns = elapsed_ns(&c0, &c1);
			if (ns > l->done_max_cpu_ns)
				l->done_max_cpu_ns = ns;
		}
		free(j);
	}
}

static void on_finished(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	(void)what;
	(void)!read(fd, &v, sizeof(v)); /* EAGAIN: taken already */
	run_finished(arg);
}

int loader_start(struct event_base *base, struct loader **out)
{
	return loader_start_named(base, "crl-loader", out);
}

int loader_start_named(struct event_base *base, const char *name,
		       struct loader **out)
{
	struct loader *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->todo.tail = &l->todo.head;
	l->finished.tail = &l->finished.head;
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->efd < 0) {
		free(l);
		return -errno;
	}
	l->ev = event_new(base, l->efd, EV_READ | EV_PERSIST, on_finished, l);
	if (!l->ev || event_add(l->ev, NULL)) {
		if (l->ev)
			event_free(l->ev);
		close(l->efd);
		free(l);
		return -ENOMEM;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	if (pthread_create(&l->thread, NULL, loader_main, l)) {
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->cond);
		event_free(l->ev);
		close(l->efd);
		free(l);
		return -EAGAIN;
	}
	*out = l;
	return 0;
}

void loader_stop(struct loader *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	/* The callbacks may queue more: loader_run() refuses (stop). */
	run_finished(l);
	event_free(l->ev);
	close(l->efd);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l);
}

int loader_run(struct loader *l, loader_fn work, loader_fn done, void *arg)
{
	struct ljob *j;

	if (!l) {
		work(arg);
		if (done)
			done(arg);
		return 0;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&l->lock);
	if (l->stop) {
		pthread_mutex_unlock(&l->lock);
		free(j);
		return -ESHUTDOWN;
	}
	push(&l->todo, j);
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	l->pending++;
	return 0;
}

unsigned int loader_pending(const struct loader *l)
{
	return l ? l->pending : 0;
}

double loader_done_max(const struct loader *l, bool cpu)
{
	if (!l)
		return 0;
	return (double)(cpu ? l->done_max_cpu_ns : l->done_max_ns) / 1e9;
}
