/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Records of the power-cut test: filling and checking them (format.h).
 */
#include "format.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct pc_head {
	uint32_t magic;
	uint32_t kind;
	uint64_t seq;
	uint64_t round;
	uint32_t crc;
	uint32_t zero;
};

_Static_assert(sizeof(struct pc_head) == 32, "record head layout");

/* CRC-32 (IEEE, reflected), table-driven; the table is built on first use. */
static uint32_t crc_table[256];
static bool crc_ready;

static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	if (!crc_ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;

			for (int k = 0; k < 8; k++)
				v = (v & 1) ? 0xedb88320u ^ (v >> 1) : v >> 1;
			crc_table[i] = v;
		}
		crc_ready = true;
	}
	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* splitmix64: a different, well-mixed stream for every (kind, round, seq). */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

uint64_t pc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pc_create_name(char *buf, size_t size, uint64_t n)
{
	snprintf(buf, size, "f%06llu", (unsigned long long)n);
}

void pc_record_fill(void *buf, enum pc_kind kind, uint64_t round, uint64_t seq)
{
	unsigned char *p = buf;
	struct pc_head h = { PC_MAGIC, (uint32_t)kind, seq, round, 0, 0 };
	uint64_t s = ((uint64_t)kind << 56) ^ (round << 32) ^ seq;

	for (size_t off = sizeof(h); off < PC_REC_SIZE; off += 8) {
		uint64_t v = mix(&s);

		memcpy(p + off, &v, 8);
	}
	memcpy(p, &h, sizeof(h));
	h.crc = crc32(p, PC_REC_SIZE);
	memcpy(p, &h, sizeof(h));
}

enum pc_check pc_record_check(const void *buf, size_t got, enum pc_kind kind, uint64_t round,
			      uint64_t seq, const char **why)
{
	unsigned char want[PC_REC_SIZE], copy[PC_REC_SIZE];
	const unsigned char *p = buf;
	struct pc_head h;
	const char *w = NULL;
	size_t i;

	/* A record of zeros, or no bytes at all, was never written back. */
	for (i = 0; i < got && p[i] == 0; i++)
		;
	if (i == got) {
		w = got < PC_REC_SIZE ? "missing (file too short)" : "zeros";
		goto out;
	}
	if (got < PC_REC_SIZE) {
		w = "cut short by the end of the file";
		goto out;
	}
	memcpy(&h, p, sizeof(h));
	memcpy(copy, p, PC_REC_SIZE);
	memset(copy + offsetof(struct pc_head, crc), 0, sizeof(h.crc));
	pc_record_fill(want, kind, round, seq);
	if (h.magic != PC_MAGIC)
		w = "bad magic";
	else if (h.kind != (uint32_t)kind)
		w = "another kind of record";
	else if (h.seq != seq)
		w = "another record's number";
	else if (h.round != round)
		w = "another round's record";
	else if (crc32(copy, PC_REC_SIZE) != h.crc)
		w = "bad CRC (torn)";
	else if (memcmp(want, p, PC_REC_SIZE) != 0)
		w = "payload differs";
out:
	if (why != NULL)
		*why = w != NULL ? w : "intact";
	if (w == NULL)
		return PC_CHECK_OK;
	return i == got ? PC_CHECK_LOST : PC_CHECK_CORRUPT;
}
