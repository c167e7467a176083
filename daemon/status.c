// SPDX-License-Identifier: MIT
/*
 * What the daemon says of itself (daemon.h): one line for the log and for
 * systemd, and the counters of every part for `pprofctl status`.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "file_cache.h"
#include "clock.h"
#include "cpu_sampler.h"
#include "cpu_stream.h"
#include "daemon.h"
#include "debuginfod.h"
#include "heap.h"
#include "heap_watch.h"
#include "log.h"
#include "notify.h"
#include "procs.h"
#include "requests.h"
#include "sideband.h"
#include "symtab.h"
#include "unwind_feed.h"
#include "unwind_tables.h"
#include "wait_watch.h"

/* The one-line summary: the periodic health log line and systemd's STATUS=. */
static void health_line(struct daemon *d, char *buf, size_t len)
{
	uint64_t c[CPU_CNT_NR] = { 0 }, drops;
	struct cpu_stream_stats cs;
	struct procs_stats ps;

	cpu_sampler__counters(d->sampler, c);
	cpu_stream__stats(d->cpu, &cs);
	procs__stats(d->procs, &ps);
	drops = cpu_stream__drops(d->cpu) + cs.untracked + cpu_sampler__malformed(d->sampler);
	snprintf(buf, len,
		 "samples=%" PRIu64 " drops=%" PRIu64 " (ringbuf=%" PRIu64 " untracked=%" PRIu64
		 ") sideband_lost=%" PRIu64 " processes=%" PRIu64 " files=%" PRIu64
		 " bytes=%" PRIu64 " write_errors=%" PRIu64 " output=%s",
		 c[CPU_CNT_SAMPLES], drops, c[CPU_CNT_DROP_RINGBUF], cs.untracked,
		 sideband__lost(d->sb), ps.images, cs.files, cs.bytes, cs.write_errors,
		 d->out.err ? strerror(-d->out.err) : "ok");
}

void daemon__log_health(struct daemon *d)
{
	char line[512];

	health_line(d, line, sizeof(line));
	log_info("health: %s", line);
}

void daemon__notify_status(struct daemon *d)
{
	char msg[600];

	memcpy(msg, "STATUS=", 7);
	health_line(d, msg + 7, sizeof(msg) - 7);
	notify(msg);
}

/* VmRSS and VmHWM of /proc/self/status, in bytes. */
static void own_rss(uint64_t *rss, uint64_t *peak)
{
	char line[128];
	unsigned long long kb;
	FILE *f = fopen("/proc/self/status", "re");

	*rss = *peak = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			*rss = kb * 1024;
		else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			*peak = kb * 1024;
	}
	fclose(f);
}

int daemon__status_counters(void *ctx, struct status_counter *out, int max)
{
	struct daemon *d = ctx;
	uint64_t c[CPU_CNT_NR] = { 0 }, served, refused;
	struct cpu_stream_stats cst;
	struct procs_stats ps;
	struct file_cache_stats files;
	unsigned active;
	int n = 0;

	cpu_sampler__counters(d->sampler, c);
	cpu_stream__stats(d->cpu, &cst);
	procs__stats(d->procs, &ps);
	file_cache__stats(d->files, &files);
	requests__counts(d->requests, &served, &refused, &active);
#define PUT(nm, v)                                                               \
	do {                                                                     \
		if (n < max) {                                                   \
			snprintf(out[n].name, sizeof(out[n].name), "%.47s", nm); \
			out[n++].value = (v);                                    \
		}                                                                \
	} while (0)
	PUT("uptime_seconds", (mono_ns() - d->start_mono) / 1000000000);
	PUT("frequency_hz", d->cfg.frequency_hz);
	PUT("interval_seconds", d->cfg.interval_sec);
	PUT("samples", c[CPU_CNT_SAMPLES]);
	PUT("samples_idle", c[CPU_CNT_IDLE]);
	PUT("samples_self_skipped", c[CPU_CNT_SELF]);
	PUT("drops_ringbuf_full", c[CPU_CNT_DROP_RINGBUF]);
	PUT("drops_untracked_process", cst.untracked);
	PUT("drops_pending_overflow", cst.pending_dropped);
	PUT("drops_at_stop", cst.stop_dropped);
	PUT("drops_malformed", cpu_sampler__malformed(d->sampler));
	PUT("cpu_unwind_errors", cst.unwind_errors);
	PUT("cpu_processes_without_fp", cst.nofp);
	PUT("cpu_processes_without_fp_over_limit", cst.nofp_full);
	PUT("kernel_stack_errors", c[CPU_CNT_KSTACK_ERR]);
	PUT("user_stack_errors", c[CPU_CNT_USTACK_ERR]);
	PUT("sideband_records_lost", sideband__lost(d->sb));
	PUT("processes_tracked", ps.images);
	PUT("processes_max", d->cfg.max_processes);
	PUT("processes_over_limit", ps.over_limit);
	PUT("addresses_in_no_mapping", ps.maps_unknown);
	PUT("jit_perf_maps_read", ps.perf_maps_read);
	PUT("jit_perf_maps_refused", ps.perf_maps_refused);
	PUT("jit_perf_map_lines_dropped", ps.perf_map_lines_dropped);
	PUT("mapped_files_cached", files.files);
	PUT("heap_probe_site_reads", files.derived.misses);
	PUT("heap_probe_sites_reused", files.derived.hits);
	PUT("symbol_files_cached", files.sym.files);
	PUT("symbol_files_max", d->cfg.max_symbol_files);
	PUT("symbol_load_failures", ps.files.symtab_fail);
	PUT("symbol_loads_queued", files.sym.queued);
	PUT("symbol_loads_deferred", ps.files.symtab_deferred);
	PUT("symbols_not_ready", ps.files.symtab_not_ready);
	PUT("lines_not_ready", ps.files.lines_not_ready);
	PUT("cfi_files_cached", files.cfi.files);
	PUT("cfi_cache_max_bytes", d->cfg.unwind_cache_bytes);
	PUT("cfi_loads", files.cfi.misses);
	PUT("cfi_evictions", files.cfi.evictions);
	PUT("cfi_deferred", files.cfi.deferred);
	PUT("cfi_load_failures", files.cfi.failures);
	PUT("cfi_loads_queued", files.cfi.queued);
	PUT("cfi_load_waits", files.cfi.waits);
	PUT("cfi_frames_not_ready", ps.files.cfi_not_ready);
	PUT("cpu_samples_waited_for_tables", cst.waited_for_tables);
	if (d->utables) {
		struct unwind_tables_stats ts;
		struct unwind_feed_stats fs;

		unwind_tables__stats(d->utables, &ts);
		unwind_feed__stats(d->ufeed, &fs);
		PUT("unwind_walks_whole", c[CPU_CNT_WALK_WHOLE]);
		PUT("unwind_walks_cut", c[CPU_CNT_WALK_CUT]);
		PUT("unwind_walks_at_depth_limit", c[CPU_CNT_WALK_DEPTH]);
		PUT("unwind_walks_no_entry", c[CPU_CNT_WALK_NO_PROC]);
		PUT("unwind_walks_no_mapping", c[CPU_CNT_WALK_NO_MAP]);
		PUT("unwind_walks_no_table", c[CPU_CNT_WALK_NO_TABLE]);
		PUT("unwind_event_stacks_walked", ps.ustacks_walked);
		PUT("unwind_event_stacks_missed", ps.ustacks_missed);
		PUT("unwind_table_files", ts.files);
		PUT("unwind_table_bytes", ts.bytes);
		PUT("unwind_table_max_bytes", d->cfg.unwind_table_bytes);
		PUT("unwind_table_evictions", ts.evictions);
		PUT("unwind_table_evictions_in_use", ts.evictions_in_use);
		PUT("unwind_tables_too_big", ts.too_big);
		PUT("unwind_table_failures", fs.tables_failed);
		PUT("unwind_table_write_errors", ts.write_errors);
		PUT("unwind_process_entries", ts.procs);
		PUT("unwind_process_entries_refused", ts.procs_refused);
		PUT("unwind_process_entries_remade", fs.entries_remade);
		PUT("unwind_process_entry_errors", fs.entry_errors);
		PUT("unwind_mappings_dropped", ts.proc_maps_dropped);
		PUT("unwind_mappings_waiting", fs.maps_waiting);
	}
	PUT("symbol_tables_over_limit", symtab__over_limit());
	{
		struct debuginfod_stats ds;

		debuginfod__stats(d->dbgi, &ds);
		PUT("debuginfod_on", d->dbgi != NULL);
		PUT("debuginfod_asked", ds.asked);
		PUT("debuginfod_fetched", ds.fetched);
		PUT("debuginfod_not_found", ds.not_found);
		PUT("debuginfod_errors", ds.errors);
		PUT("debuginfod_refused", ds.refused);
		PUT("debuginfod_cache_bytes", ds.cache_bytes);
		PUT("debuginfod_cache_max_bytes", d->cfg.debuginfod_cache_bytes);
		PUT("debuginfod_cache_evictions", ds.cache_evictions);
		PUT("debuginfod_fetch_ms_max", ds.fetch_ns_max / 1000000);
	}
	{
		struct symtab_dwarf_stats ds;

		symtab__dwarf_stats(&ds);
		PUT("dwarf_files_loaded", ds.loaded);
		PUT("dwarf_load_failures", ds.failed);
		PUT("dwarf_over_limit", ds.over_limit);
		PUT("dwarf_lookups", ds.lookups);
		PUT("dwarf_lookup_errors", ds.lookup_errors);
	}
	{
		/* Where the memory is: the process's, malloc's, and the big
		 * holders (the caches' budgets are the *_max lines above). */
		struct symtab_dwarf_stats ds;
		struct mallinfo2 mi = mallinfo2();
		uint64_t rss, peak;

		own_rss(&rss, &peak);
		symtab__dwarf_stats(&ds);
		PUT("mem_rss_bytes", rss);
		PUT("mem_rss_peak_bytes", peak);
		PUT("mem_malloc_in_use_bytes", mi.uordblks + mi.hblkhd);
		PUT("mem_malloc_free_held_bytes", mi.fordblks);
		PUT("mem_symbol_cache_bytes", files.sym.bytes);
		PUT("mem_cfi_cache_bytes", files.cfi.bytes);
		PUT("mem_dwarf_bytes", ds.bytes);
		PUT("mem_kernel_symbols_bytes", kallsyms__mem_size(d->ksyms));
	}
	PUT("profiles_written", cst.files);
	PUT("profile_bytes_written", cst.bytes);
	PUT("profile_write_errors", cst.write_errors);
	PUT("profiles_refused", d->out.refused);
	PUT("requests_active", active);
	PUT("requests_served", served);
	PUT("requests_refused", refused);
#undef PUT
	return n;
}
