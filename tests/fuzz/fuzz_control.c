// SPDX-License-Identifier: MIT
/*
 * libFuzzer: the control socket's request, as any local user may send it.
 * The input is the byte stream of one connection, received in pieces
 * (control__frame after each, as on_conn does, in a buffer of the
 * connection's size); a whole frame's message goes through
 * control__parse_request, and so does the input itself as one message.
 * A request understood is packed again and must decode to the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "control.pb-c.h"

/* control.c hands requests to the requests engine; parsing never does. */
struct request *requests__start(struct requests *r, const struct req_params *p, req_done_fn done,
				void *ctx)
{
	abort();
}

void requests__cancel(struct requests *r, struct request *q)
{
	abort();
}

int requests__status(struct requests *r, struct status_counter *out, int max)
{
	abort();
}

static const Pprofd__Control__Kind kinds[] = {
	[KIND_CPU] = PPROFD__CONTROL__KIND__KIND_CPU,
	[KIND_HEAP] = PPROFD__CONTROL__KIND__KIND_HEAP,
	[KIND_MUTEX] = PPROFD__CONTROL__KIND__KIND_MUTEX,
	[KIND_BLOCK] = PPROFD__CONTROL__KIND__KIND_BLOCK,
	[KIND_THREADS] = PPROFD__CONTROL__KIND__KIND_THREADS,
};

static void check(const struct control_parsed *out)
{
	switch (out->action) {
	case CONTROL_ERROR:
		if ((out->code != 400 && out->code != 505) || !out->message[0] ||
		    !memchr(out->message, 0, sizeof(out->message)))
			abort();
		break;
	case CONTROL_STATUS:
		break;
	case CONTROL_PROFILE:
		if (out->params.kind < KIND_CPU || out->params.kind > KIND_THREADS ||
		    out->params.peer.known || out->params.peer.privileged || out->params.peer.uid)
			abort();
		break;
	default:
		abort();
	}
}

static void parse(const uint8_t *msg, size_t len)
{
	Pprofd__Control__Request rq = PPROFD__CONTROL__REQUEST__INIT;
	struct control_parsed out, again;
	uint8_t buf[64];

	control__parse_request(msg, len, &out);
	check(&out);
	if (out.action != CONTROL_PROFILE)
		return;
	rq.version = CONTROL_VERSION;
	rq.kind = kinds[out.params.kind];
	rq.pid = out.params.pid;
	rq.seconds = out.params.seconds;
	rq.hz = out.params.hz;
	if (pprofd__control__request__get_packed_size(&rq) > sizeof(buf))
		abort();
	control__parse_request(buf, pprofd__control__request__pack(&rq, buf), &again);
	if (again.action != CONTROL_PROFILE || again.params.kind != out.params.kind ||
	    again.params.pid != out.params.pid || again.params.seconds != out.params.seconds ||
	    again.params.hz != out.params.hz)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t in[4 + CONTROL_MAX_REQUEST];
	size_t in_len = 0, off = 0, msg_len;
	/* the size of each piece received: from the first byte, 1..16 or all */
	size_t step = size && data[0] < 0xf0 ? 1 + data[0] % 16 : sizeof(in);

	if (size <= CONTROL_MAX_REQUEST)
		parse(data, size);

	while (off < size) {
		size_t n = size - off;
		enum control_frame f;

		if (n > step)
			n = step;
		if (n > sizeof(in) - in_len)
			n = sizeof(in) - in_len;
		if (!n)
			abort(); /* the buffer is full and no frame was decided */
		memcpy(in + in_len, data + off, n);
		in_len += n;
		off += n;
		msg_len = SIZE_MAX;
		f = control__frame(in, in_len, &msg_len);
		if (f == CONTROL_FRAME_TOO_LARGE) {
			if (in_len < 4)
				abort();
			return 0;
		}
		if (f == CONTROL_FRAME_WHOLE) {
			if (msg_len > CONTROL_MAX_REQUEST || 4 + msg_len > in_len)
				abort();
			parse(in + 4, msg_len);
			return 0;
		}
		if (f != CONTROL_FRAME_PARTIAL)
			abort();
	}
	return 0;
}
