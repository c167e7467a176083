#!/usr/bin/env bash
# The daemon's page in a real browser (headless Chromium, driven over the
# DevTools protocol by browser.py), as a person uses it: it loads without
# console errors, the busy process is first, the filter box filters, a
# flame graph of the last window, of the last hour and of a fresh request
# renders in the page, zooms on a click and searches with "/".
. "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || fail "chromium is not installed (make deps installs it)"
PORT=$((20000 + RANDOM % 20000))

"$PPROFD" --output-dir "$T/profiles" --socket "$T/pprofd.sock" --http 127.0.0.1:$PORT \
	--interval 2 >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

"$WL/cpu_shares" 60 >"$T/wl.out" &
WLPID=$!
sleep 0.3
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")
# two windows, so that "last window" and "last hour" both have files
for _ in $(seq 100); do
	[ "$(ls "$T"/profiles/cpu_shares-"$pid"/cpu-*.pb.gz 2>/dev/null | wc -l)" -ge 2 ] && break
	sleep 0.1
done

PYTHONPATH="$ROOT/tests/e2e" python3 - "http://127.0.0.1:$PORT/" "$pid" "$T/page.png" <<'PY' || fail "the page in the browser (see above)"
import sys
from browser import Browser

url, pid, shot = sys.argv[1], sys.argv[2], sys.argv[3]
b = Browser()
try:
    b.navigate(url)  # / leads to /debug/pprof/
    assert b.eval("location.pathname") == "/debug/pprof/", b.eval("location.href")
    first = b.eval("document.querySelector('#procs tr:nth-child(2)').cells[0].textContent")
    assert first == pid, f"first process {first}, want cpu_shares {pid}"

    # the filter box: only the rows that match stay shown
    visible = """Array.from(document.querySelectorAll('#procs tr')).filter(
        tr => tr.querySelector('td') && tr.style.display !== 'none').map(
        tr => tr.cells[0].textContent)"""
    total = len(b.eval(visible))
    b.eval("var f = document.getElementById('filter'); f.value = 'cpu_sha';"
           "f.dispatchEvent(new Event('input')); true")
    rows = b.eval(visible)
    assert rows == [pid], f"filter 'cpu_sha': rows {rows} of {total}"
    b.eval("var f = document.getElementById('filter'); f.value = '';"
           "f.dispatchEvent(new Event('input')); true")
    assert len(b.eval(visible)) == total, "clearing the filter does not show every row"
    print(f"filter: {total} processes, 'cpu_sha' leaves {rows}")

    frame = "document.getElementById('flame').contentDocument"
    def open_graph(label, timeout=30):
        # the graph shown before stays until the new one has come: mark it
        b.eval(f"{frame} && {frame}.documentElement && "
               f"{frame}.documentElement.setAttribute('data-old', '1'); true")
        b.eval(f"""Array.from(document.querySelectorAll('#procs a[target=flame]')).find(
            a => a.closest('tr').cells[0].textContent === '{pid}' &&
                 a.textContent === '{label}').click(); true""")
        assert not b.eval("document.getElementById('flamebox').hidden"), "the frame stays hidden"
        n = b.wait_for(f"""{frame} && {frame}.getElementById('frames') &&
            !{frame}.documentElement.hasAttribute('data-old') &&
            {frame}.querySelectorAll('g.f').length""", timeout)
        title = b.eval(f"{frame}.getElementById('title').textContent")
        assert f"cpu_shares (pid {pid})" in title, f"{label}: title {title!r}"
        names = b.eval(f"""Array.from({frame}.querySelectorAll('g.f title')).map(
            t => t.textContent.split(' (')[0])""")
        for fn in ("alpha", "beta", "gamma_fn"):
            assert fn in names, f"{label}: {fn} not drawn ({len(names)} frames)"
        # it fills the frame's width
        width = b.eval(f"{frame}.documentElement.getBoundingClientRect().width")
        inner = b.eval("document.getElementById('flame').clientWidth")
        assert abs(width - inner) <= 2, f"{label}: graph {width} px in a {inner} px frame"
        print(f"{label}: {n} frames drawn, title {title!r}")
        return title

    open_graph("last window")
    b.screenshot(shot)

    # a click on alpha zooms: alpha spans the width, Reset zoom is enabled
    b.eval(f"""var d = {frame}, g = Array.from(d.querySelectorAll('g.f')).find(
        g => g.querySelector('title').textContent.startsWith('alpha ('));
        g.querySelector('rect').dispatchEvent(new MouseEvent('click', {{bubbles: true}})); true""")
    zoomed = b.eval(f"""var d = {frame}, g = Array.from(d.querySelectorAll('g.f')).find(
        g => g.querySelector('title').textContent.startsWith('alpha ('));
        [Number(g.querySelector('rect').getAttribute('width')),
         d.getElementById('reset').classList.contains('off')]""")
    assert zoomed[0] > 1000 and not zoomed[1], f"zoom on alpha: width {zoomed[0]}, reset off {zoomed[1]}"
    print(f"zoom: alpha {zoomed[0]:.0f} px wide")

    # "/" searches inside the graph (the browser's own find is left alone)
    b.prompt_answer = "beta"
    b.eval(f"""{frame}.defaultView.dispatchEvent(new KeyboardEvent('keydown',
        {{key: '/', bubbles: true}})); true""")
    matched = b.wait_for(f"{frame}.getElementById('matched').textContent.trim()")
    assert b.dialogs and matched.startswith("Matched: "), f"search: {b.dialogs} {matched!r}"
    print(f"search 'beta': {matched}")

    open_graph("last hour")
    title = open_graph("10 s now", timeout=40)
    assert title.split(": ")[0].endswith(", 10 s"), f"a 10 s request's graph: {title!r}"

    b.pump(0.5)
    assert not b.errors, "the page had errors: " + "; ".join(b.errors)
    print("no console errors, no failed loads")
finally:
    b.close()
PY
[ -s "$T/page.png" ] || fail "no screenshot"
[ -n "${PPROFD_SCREENSHOT:-}" ] && cp "$T/page.png" "$PPROFD_SCREENSHOT"
kill "$WLPID" 2>/dev/null
stop_daemon
ok "the page in Chromium: ranking, filter, flame graphs (window, hour, request), zoom, search, no errors"
