/* app.js - the mmapd inspector (README "Inspector"), served at /ui/.
 *
 * Plain script, no framework, no build step: it calls the same REST API as
 * any client (api/openapi.yaml), by paths relative to /ui/ ("../v1/..."),
 * so the page also works behind a proxy that mounts the server under a
 * prefix. A token typed into the form is kept in this tab's sessionStorage
 * (gone when the tab closes) and sent as "Authorization: Bearer"; without
 * one the requests go out bare, as a server without --token files wants.
 *
 * The Content-Security-Policy of /ui/ (api/src/ui.c) allows no inline
 * script or style: everything is wired here with addEventListener, and
 * styles are classes of style.css. Text from the server (names, JSON) is
 * only ever set as textContent.
 *
 *  - Mappings: one page of GET /v1/maps at a time (`limit`, then `after` =
 *    the previous page's `next`); the lease state comes from each
 *    mapping's own metadata, as the listing leaves it out.
 *  - Bytes: a page of PAGE bytes read with a Range request; "live"
 *    re-reads it on each event of GET .../events, or (with a token, or when
 *    the stream fails) polls it every second with If-None-Match (a 304
 *    costs no bytes); the bytes that differ from the previous read are
 *    highlighted.
 *  - Write: PATCH /data (message/byterange) with If-Match set to the ETag
 *    of the bytes on screen, so a write never lands on bytes the user has
 *    not seen; a 412 is shown and the view re-read.
 *  - Extents: a strip of where the mapping holds data (GET .../extents).
 *  - Objects: GET /objects/{offset}, shown as indented JSON.
 *  - Service: /v1/info and /metrics every second, as rates on small
 *    canvas charts (the last CHART_POINTS seconds).
 */
'use strict';

(function () {
    const PAGE = 512;          /* bytes of one hex page: 32 rows of 16 */
    const ROW = 16;
    const POLL_MS = 1000;
    const CHART_POINTS = 60;
    const EXTENT_PAGES = 10;   /* answers of /extents drawn at most */
    const TOKEN_KEY = 'mmapd.token';
    const params = new URLSearchParams(location.search);
    /* ?limit=N: the mappings per page (tests use a small one). */
    const LIMIT = Math.min(Math.max(parseInt(params.get('limit') || '25', 10) || 25, 1), 1000);

    const $ = (id) => document.getElementById(id);
    const state = {
        token: sessionStorage.getItem(TOKEN_KEY) || '',
        after: null,          /* `after` of the page shown (null: first) */
        next: null,           /* the listing's `next` */
        name: null,           /* mapping in the viewer */
        size: 0,
        offset: 0,            /* first byte of the page shown */
        etag: null,           /* ETag of the bytes shown */
        bytes: null,          /* Uint8Array of the page shown */
        changed: null,        /* Set of page indexes that changed */
        polling: false,       /* a poll is in flight */
        pollTimer: null,
        events: null,         /* EventSource of the live view */
        svcTimer: null,
        samples: [],          /* service samples, oldest first */
    };

    /* ---- talking to the API ------------------------------------------- */

    function withToken(h) {
        const headers = new Headers(h || {});
        if (state.token)
            headers.set('Authorization', 'Bearer ' + state.token);
        return headers;
    }

    function api(path, opts) {
        const o = Object.assign({}, opts || {});
        o.headers = withToken(o.headers);
        /* Conditional headers are ours to set: the HTTP cache stays out,
         * so a 304 reaches this script as a 304. */
        o.cache = 'no-store';
        return fetch('../' + path, o);
    }

    function mapPath(name, tail) {
        return 'v1/maps/' + encodeURIComponent(name) + (tail || '');
    }

    /* The problem+json of a failed answer, as one line. */
    async function problem(r) {
        let p = null;
        try {
            p = await r.json();
        } catch (e) {
            p = null;
        }
        if (r.status === 401)
            return '401: this server needs a token (paste one above)';
        if (p && typeof p === 'object' && p.detail)
            return r.status + ' ' + (p.code || '') + ': ' + p.detail;
        return r.status + ' ' + r.statusText;
    }

    function say(text, isError) {
        const s = $('status');
        s.textContent = text;
        s.classList.toggle('error', !!isError);
    }

    async function fail(r, what) {
        say(what + ': ' + (await problem(r)), true);
    }

    function netError(what, e) {
        say(what + ': ' + (e && e.message ? e.message : String(e)), true);
    }

    /* ---- formatting --------------------------------------------------- */

    function human(n) {
        const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
        let v = n;
        let u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return (u === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + units[u];
    }

    function hex2(b) {
        return (b < 16 ? '0' : '') + b.toString(16);
    }

    /* A decimal or 0x-hex offset; null when it is neither. */
    function parseOffset(text) {
        const t = text.trim();
        let v;
        if (/^0x[0-9a-f]+$/i.test(t))
            v = parseInt(t.slice(2), 16);
        else if (/^[0-9]+$/.test(t))
            v = parseInt(t, 10);
        else
            return null;
        return Number.isSafeInteger(v) ? v : null;
    }

    /* "de ad be ef", "deadbeef" or "0xde,0xad": bytes, or null. */
    function parseHex(text) {
        const t = text.replace(/0x/gi, '').replace(/[\s,:]/g, '');
        if (t.length === 0 || t.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(t))
            return null;
        const out = new Uint8Array(t.length / 2);
        for (let i = 0; i < out.length; i++)
            out[i] = parseInt(t.substr(i * 2, 2), 16);
        return out;
    }

    function cell(tr, text, cls) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls)
            td.className = cls;
        tr.appendChild(td);
        return td;
    }

    /* ---- mappings ----------------------------------------------------- */

    async function loadMaps(after) {
        const q = new URLSearchParams({ limit: String(LIMIT) });
        if (after)
            q.set('after', after);
        let r;
        try {
            r = await api('v1/maps?' + q.toString());
        } catch (e) {
            return netError('listing', e);
        }
        if (!r.ok)
            return fail(r, 'listing');
        const page = await r.json();
        state.after = after;
        state.next = page.next;
        const body = $('maps').tBodies[0];
        body.textContent = '';
        for (const m of page.maps) {
            const tr = document.createElement('tr');
            tr.dataset.name = m.name;
            const a = document.createElement('a');
            a.textContent = m.name;
            a.addEventListener('click', () => openMap(m.name));
            const td = document.createElement('td');
            td.appendChild(a);
            tr.appendChild(td);
            cell(tr, human(m.size), 'num').title = m.size + ' bytes';
            cell(tr, m.backing);
            cell(tr, m.protection);
            cell(tr, '…', 'lease');
            cell(tr, human(m.bytes_read), 'num');
            cell(tr, human(m.bytes_written), 'num');
            if (m.name === state.name)
                tr.classList.add('selected');
            body.appendChild(tr);
        }
        $('maps-next').disabled = page.next === null;
        $('maps-first').disabled = !after;
        say(page.maps.length + ' mapping(s) on this page' +
            (page.next === null ? '' : '; more on the next'), false);
        /* The listing carries no lease: ask each mapping of the page. */
        await Promise.all(page.maps.map(async (m) => {
            const td = body.querySelector('tr[data-name="' + CSS.escape(m.name) + '"] td.lease');
            try {
                const rr = await api(mapPath(m.name));
                if (!rr.ok) {
                    td.textContent = '?';
                    return;
                }
                const meta = await rr.json();
                td.textContent = meta.lease ? meta.lease.state : 'none';
            } catch (e) {
                td.textContent = '?';
            }
        }));
    }

    /* ---- the hex viewer ----------------------------------------------- */

    function renderHex() {
        const pre = $('hex');
        const b = state.bytes || new Uint8Array(0);
        const frag = document.createDocumentFragment();
        const sel = parseOffset($('e-offset').value);
        const width = Math.max(8, (state.offset + b.length).toString(16).length);
        for (let row = 0; row < b.length; row += ROW) {
            const off = document.createElement('span');
            off.className = 'off';
            off.textContent = (state.offset + row).toString(16).padStart(width, '0') + '  ';
            frag.appendChild(off);
            let ascii = '';
            const asc = [];
            for (let i = row; i < row + ROW; i++) {
                if (i >= b.length) {
                    frag.appendChild(document.createTextNode('   '));
                    continue;
                }
                const s = document.createElement('span');
                s.className = 'b';
                s.dataset.i = String(i);
                s.textContent = hex2(b[i]);
                if (state.changed && state.changed.has(i))
                    s.classList.add('changed');
                if (sel === state.offset + i)
                    s.classList.add('sel');
                frag.appendChild(s);
                frag.appendChild(document.createTextNode(i === row + 7 ? '  ' : ' '));
                const c = b[i] >= 0x20 && b[i] < 0x7f ? String.fromCharCode(b[i]) : '.';
                asc.push([c, state.changed && state.changed.has(i)]);
                ascii += c;
            }
            frag.appendChild(document.createTextNode(' |'));
            for (const [c, ch] of asc) {
                const s = document.createElement('span');
                s.className = ch ? 'asc changed' : 'asc';
                s.textContent = c;
                frag.appendChild(s);
            }
            frag.appendChild(document.createTextNode('|\n'));
        }
        if (b.length === 0)
            frag.appendChild(document.createTextNode(state.size === 0 ? '(empty mapping)' : '(past the end)'));
        pre.textContent = '';
        pre.appendChild(frag);
        pre.dataset.name = state.name;
        pre.dataset.offset = String(state.offset);
        pre.dataset.etag = state.etag || '';
        pre.dataset.changed = String(state.changed ? state.changed.size : 0);
        $('v-meta').textContent = human(state.size) + (b.length === 0 ? '' : ', bytes ' + state.offset +
            '–' + (state.offset + b.length - 1)) + ', ETag ' + (state.etag || '-');
    }

    async function loadMeta() {
        const r = await api(mapPath(state.name));
        if (!r.ok) {
            await fail(r, state.name);
            return false;
        }
        const m = await r.json();
        state.size = m.size;
        return true;
    }

    /* Read the page at state.offset. poll: only if it changed (304
     * otherwise). Highlights what differs from the bytes shown before,
     * when they were the same page. */
    async function readPage(poll) {
        const name = state.name;
        const off = state.offset;
        if (state.size === 0 || off >= state.size) {
            state.bytes = new Uint8Array(0);
            state.changed = null;
            renderHex();
            return;
        }
        const last = Math.min(off + PAGE, state.size) - 1;
        const h = { Range: 'bytes=' + off + '-' + last };
        if (poll && state.etag)
            h['If-None-Match'] = state.etag;
        let r;
        try {
            r = await api(mapPath(name, '/data'), { headers: h });
        } catch (e) {
            return netError('read', e);
        }
        if (name !== state.name || off !== state.offset)
            return; /* the user moved on meanwhile */
        if (r.status === 304)
            return;
        if (r.status === 416) {
            /* Shrunk under us: learn the size and show what is left. */
            if (await loadMeta()) {
                state.offset = Math.max(0, Math.min(off, state.size - 1));
                state.offset -= state.offset % ROW;
                return readPage(false);
            }
            return;
        }
        if (r.status !== 206 && r.status !== 200)
            return fail(r, 'read');
        const b = new Uint8Array(await r.arrayBuffer());
        const cr = r.headers.get('Content-Range');
        const m = cr ? /\/(\d+)$/.exec(cr) : null;
        if (m)
            state.size = Number(m[1]);
        let changed = null;
        if (state.bytes && state.bytesOffset === off) {
            changed = new Set();
            for (let i = 0; i < b.length; i++) {
                if (i >= state.bytes.length || state.bytes[i] !== b[i])
                    changed.add(i);
            }
        }
        state.bytes = b;
        state.bytesOffset = off;
        state.changed = changed;
        state.etag = r.headers.get('ETag');
        renderHex();
    }

    /* Live view. Without a token the page follows GET .../events (README
     * "Inspector", api/openapi.yaml): a write, resize or reset re-reads the
     * page at once, and readPage highlights what differs. EventSource
     * cannot send an Authorization header, so with a token in use (or on a
     * stream error) the page polls every POLL_MS with If-None-Match
     * instead. body[data-live] says which: "events", "poll" or "off". */
    function startPoll() {
        stopPoll();
        if (!$('v-live').checked || !state.name) {
            document.body.dataset.live = 'off';
            return;
        }
        if (!state.token && window.EventSource)
            startEvents(state.name);
        else
            startInterval();
    }

    function startInterval() {
        document.body.dataset.live = 'poll';
        state.pollTimer = setInterval(refreshLive, POLL_MS);
    }

    async function refreshLive() {
        if (state.polling)
            return;
        state.polling = true;
        try {
            await readPage(true);
        } finally {
            state.polling = false;
        }
    }

    function startEvents(name) {
        const es = new EventSource('../' + mapPath(name, '/events'));
        state.events = es;
        es.addEventListener('open', () => {
            if (state.events === es)
                document.body.dataset.live = 'events';
        });
        for (const kind of ['write', 'resize', 'reset']) {
            es.addEventListener(kind, async () => {
                if (state.events !== es)
                    return;
                if (kind !== 'write')
                    await loadMeta();
                await refreshLive();
            });
        }
        es.addEventListener('delete', () => {
            if (state.events !== es)
                return;
            stopPoll();
            document.body.dataset.live = 'off';
            say(name + ' was deleted', true);
        });
        es.addEventListener('error', () => {
            /* Closed by the server or never opened: poll instead. */
            if (state.events !== es)
                return;
            stopPoll();
            startInterval();
        });
    }

    function stopPoll() {
        if (state.pollTimer !== null)
            clearInterval(state.pollTimer);
        state.pollTimer = null;
        if (state.events)
            state.events.close();
        state.events = null;
    }

    async function openMap(name) {
        state.name = name;
        state.offset = 0;
        state.bytes = null;
        state.changed = null;
        state.etag = null;
        $('viewer').hidden = false;
        $('v-name').textContent = name;
        /* Nothing of the previous mapping stays on screen (nor in the
         * data-* attributes that say what the view shows). */
        $('hex').textContent = '';
        delete $('hex').dataset.name;
        delete $('hex').dataset.etag;
        delete $('extents').dataset.name;
        $('v-offset').value = '0';
        $('o-json').textContent = '';
        for (const tr of $('maps').tBodies[0].rows)
            tr.classList.toggle('selected', tr.dataset.name === name);
        if (!(await loadMeta()))
            return;
        say('', false);
        await readPage(false);
        startPoll();
        await loadExtents();
    }

    async function goTo(off) {
        if (off === null) {
            say('an offset is a decimal or 0x-hex number', true);
            return;
        }
        off -= off % ROW;
        if (off >= state.size && state.size > 0)
            off = state.size - 1 - ((state.size - 1) % PAGE);
        state.offset = Math.max(0, off);
        state.bytes = null;
        state.changed = null;
        $('v-offset').value = String(state.offset);
        await readPage(false);
    }

    /* ---- the extents strip ---------------------------------------------- */

    /* Where the open mapping holds data: GET .../extents, paged with
     * `after` = `next` (LIMIT extents an answer), at most EXTENT_PAGES
     * answers, drawn on #extents across the whole size. An extent split
     * where one answer ends is joined again (api/openapi.yaml). The list
     * goes to data-extents ("offset+length ..."), and data-complete says
     * whether the pages ran out before the mapping did. */
    async function loadExtents() {
        const name = state.name;
        const list = [];
        let after = null;
        let pages = 0;
        do {
            const q = '?limit=' + LIMIT + (after === null ? '' : '&after=' + after);
            let r;
            try {
                r = await api(mapPath(name, '/extents' + q));
            } catch (e) {
                return netError('extents', e);
            }
            if (name !== state.name)
                return;
            if (!r.ok)
                return fail(r, 'extents');
            const j = await r.json();
            for (const x of j.extents) {
                const last = list[list.length - 1];
                if (last && last.offset + last.length === x.offset)
                    last.length += x.length;
                else
                    list.push({ offset: x.offset, length: x.length });
            }
            after = j.next;
        } while (after !== null && ++pages < EXTENT_PAGES);
        drawExtents(list, after === null);
    }

    function drawExtents(list, complete) {
        const c = $('extents');
        const g = c.getContext('2d');
        g.fillStyle = cssColor('--line');
        g.fillRect(0, 0, c.width, c.height);
        g.fillStyle = cssColor('--accent');
        const scale = state.size > 0 ? c.width / state.size : 0;
        for (const x of list)
            g.fillRect(Math.floor(x.offset * scale), 0, Math.max(1, Math.ceil(x.length * scale)), c.height);
        c.dataset.name = state.name;
        c.dataset.extents = list.map((x) => x.offset + '+' + x.length).join(' ');
        c.dataset.complete = complete ? '1' : '0';
        let bytes = 0;
        for (const x of list)
            bytes += x.length;
        $('x-meta').textContent = list.length + ' extent(s), ' + human(bytes) + (complete ? '' : ' (first ' + EXTENT_PAGES + ' pages only)');
    }

    /* ---- writing ------------------------------------------------------ */

    async function writeBytes() {
        const off = parseOffset($('e-offset').value);
        const bytes = parseHex($('e-bytes').value);
        if (off === null || bytes === null) {
            say('write: give an offset and an even number of hex digits', true);
            return;
        }
        if (!state.etag) {
            say('write: read the bytes first (the write is conditional on them)', true);
            return;
        }
        const head = 'Content-Range: bytes ' + off + '-' + (off + bytes.length - 1) + '/*\r\n\r\n';
        const body = new Uint8Array(head.length + bytes.length);
        body.set(new TextEncoder().encode(head), 0);
        body.set(bytes, head.length);
        let r;
        try {
            r = await api(mapPath(state.name, '/data'), {
                method: 'PATCH',
                headers: { 'Content-Type': 'message/byterange', 'If-Match': state.etag },
                body: body,
            });
        } catch (e) {
            return netError('write', e);
        }
        if (r.status === 204) {
            say('wrote ' + bytes.length + ' byte(s) at ' + off, false);
            await readPage(false);
            return;
        }
        if (r.status === 412) {
            const why = await problem(r);
            await loadMeta();
            await readPage(false);
            say('conflict: ' + why + ' — nothing was written; the view was re-read, check it and write again', true);
            return;
        }
        await fail(r, 'write');
    }

    /* ---- objects ------------------------------------------------------ */

    async function decodeObject() {
        const off = parseOffset($('o-offset').value);
        const out = $('o-json');
        if (off === null) {
            say('object: an offset is a decimal or 0x-hex number', true);
            return;
        }
        let r;
        try {
            r = await api(mapPath(state.name, '/objects/' + off));
        } catch (e) {
            return netError('object', e);
        }
        if (!r.ok) {
            out.textContent = '';
            return fail(r, 'object at ' + off);
        }
        out.textContent = JSON.stringify(await r.json(), null, 2);
        say('object at ' + off + ' decoded', false);
    }

    /* ---- service ------------------------------------------------------ */

    /* The sum of a Prometheus family's samples (all label sets). */
    function metricSum(text, family) {
        let sum = 0;
        for (const line of text.split('\n')) {
            if (line.startsWith(family) && (line[family.length] === ' ' || line[family.length] === '{'))
                sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
        }
        return sum;
    }

    async function sample() {
        let info;
        let metrics;
        try {
            const [ri, rm] = await Promise.all([api('v1/info'), api('metrics')]);
            if (!ri.ok)
                return fail(ri, 'info');
            if (!rm.ok)
                return fail(rm, 'metrics');
            info = await ri.json();
            metrics = await rm.text();
        } catch (e) {
            return netError('service', e);
        }
        const s = {
            t: performance.now() / 1000,
            hits: info.cache.hits,
            misses: info.cache.misses,
            evictions: info.cache.evictions,
            requests: metricSum(metrics, 'mmapd_requests_total'),
            sent: metricSum(metrics, 'mmapd_response_bytes_sent_total'),
            received: metricSum(metrics, 'mmapd_request_bytes_received_total'),
        };
        state.samples.push(s);
        if (state.samples.length > CHART_POINTS + 1)
            state.samples.shift();
        $('svc-summary').textContent = 'mmapd ' + info.version + ': ' + info.mappings +
            ' mapping(s); view cache ' + info.cache.views + ' view(s), ' +
            human(info.cache.bytes_mapped) + ' of ' + human(info.cache.capacity_bytes) +
            ' mapped; hits ' + info.cache.hits + ', misses ' + info.cache.misses +
            ', evictions ' + info.cache.evictions;
        drawCharts();
    }

    /* Per-second rates of the given fields between consecutive samples. */
    function rates(field) {
        const out = [];
        for (let i = 1; i < state.samples.length; i++) {
            const a = state.samples[i - 1];
            const b = state.samples[i];
            const dt = b.t - a.t;
            out.push(dt > 0 ? Math.max(0, (b[field] - a[field]) / dt) : 0);
        }
        return out;
    }

    function cssColor(name) {
        return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#000';
    }

    /* A line chart of series ([values, color]) on canvas id. */
    function chart(id, series, unit) {
        const cv = $(id);
        const g = cv.getContext('2d');
        const w = cv.width;
        const h = cv.height;
        const top = 16;
        const bottom = h - 4;
        let max = 1;
        for (const [v] of series)
            for (const x of v)
                max = Math.max(max, x);
        g.clearRect(0, 0, w, h);
        g.strokeStyle = cssColor('--line');
        g.lineWidth = 1;
        g.beginPath();
        g.moveTo(0, bottom + 0.5);
        g.lineTo(w, bottom + 0.5);
        g.moveTo(0, top + 0.5);
        g.lineTo(w, top + 0.5);
        g.stroke();
        g.fillStyle = cssColor('--muted');
        g.font = '11px sans-serif';
        g.fillText('max ' + (unit === 'B' ? human(max) + '/s' : max.toFixed(1) + '/s'), 4, 11);
        const step = w / (CHART_POINTS - 1);
        for (const [v, color] of series) {
            g.strokeStyle = color;
            g.lineWidth = 1.5;
            g.beginPath();
            const x0 = w - (v.length - 1) * step;
            v.forEach((x, i) => {
                const y = bottom - (x / max) * (bottom - top);
                if (i === 0)
                    g.moveTo(x0 + i * step, y);
                else
                    g.lineTo(x0 + i * step, y);
            });
            g.stroke();
        }
    }

    function drawCharts() {
        chart('c-cache', [[rates('hits'), cssColor('--hit')], [rates('misses'), cssColor('--miss')],
            [rates('evictions'), cssColor('--evict')]], '');
        chart('c-req', [[rates('requests'), cssColor('--accent')]], '');
        chart('c-bytes', [[rates('sent'), cssColor('--hit')], [rates('received'), cssColor('--miss')]], 'B');
    }

    function showTab(which) {
        const service = which === 'service';
        $('page-maps').hidden = service;
        $('page-service').hidden = !service;
        $('tab-maps').classList.toggle('active', !service);
        $('tab-service').classList.toggle('active', service);
        if (service) {
            stopPoll();
            if (state.svcTimer === null) {
                sample();
                state.svcTimer = setInterval(sample, POLL_MS);
            }
        } else {
            if (state.svcTimer !== null)
                clearInterval(state.svcTimer);
            state.svcTimer = null;
            startPoll();
        }
    }

    /* ---- wiring ------------------------------------------------------- */

    function tokenState() {
        $('token-state').textContent = state.token ? 'token set for this tab' : 'no token';
    }

    function submit(id, fn) {
        $(id).addEventListener('submit', (ev) => {
            ev.preventDefault();
            fn();
        });
    }

    submit('token-form', () => {
        state.token = $('token').value.trim();
        if (state.token)
            sessionStorage.setItem(TOKEN_KEY, state.token);
        else
            sessionStorage.removeItem(TOKEN_KEY);
        $('token').value = '';
        tokenState();
        loadMaps(null);
        if (state.name)
            startPoll(); /* events need no token; polling sends it */
    });
    $('token-clear').addEventListener('click', () => {
        state.token = '';
        sessionStorage.removeItem(TOKEN_KEY);
        tokenState();
        loadMaps(null);
        if (state.name)
            startPoll(); /* events need no token; polling sends it */
    });
    $('tab-maps').addEventListener('click', () => showTab('maps'));
    $('tab-service').addEventListener('click', () => showTab('service'));
    $('maps-first').addEventListener('click', () => loadMaps(null));
    $('maps-next').addEventListener('click', () => {
        if (state.next !== null)
            loadMaps(state.next);
    });
    $('maps-reload').addEventListener('click', () => loadMaps(state.after));
    submit('v-jump', () => goTo(parseOffset($('v-offset').value)));
    $('v-prev').addEventListener('click', () => goTo(Math.max(0, state.offset - PAGE)));
    $('v-next').addEventListener('click', () => goTo(state.offset + PAGE));
    $('v-refresh').addEventListener('click', () => {
        readPage(false);
        loadExtents();
    });
    $('v-live').addEventListener('change', startPoll);
    $('hex').addEventListener('click', (ev) => {
        const t = ev.target;
        if (!t.classList || !t.classList.contains('b'))
            return;
        const i = Number(t.dataset.i);
        $('e-offset').value = String(state.offset + i);
        $('o-offset').value = String(state.offset + i);
        $('e-bytes').value = hex2(state.bytes[i]);
        renderHex();
    });
    submit('edit', writeBytes);
    submit('obj', decodeObject);

    tokenState();
    document.body.dataset.ready = '1';
    loadMaps(null);
})();
