/* ui.test.js - the inspector (/ui/, api/src/ui.c, api/ui/) in a real
 * headless Chromium against a real mmapd.
 *
 * Proves, through the page as a user drives it: /ui redirects to /ui/ and
 * the page loads under its CSP with no console error; the mapping list
 * pages with `limit`/`next` and shows the lease state; the hex view shows a
 * known pattern, jumps to an offset, and highlights bytes another client
 * changed (through GET .../events: body[data-live="events"]); an edit
 * through the page lands (checked with curl); a
 * concurrent write makes the page's next edit fail with 412, which the page
 * shows and answers by re-reading, writing nothing; an object decodes to its
 * JSON; the service charts draw; an inline script is refused by the CSP;
 * and against a server with --token-file the page asks for a token, then
 * works with it (live by polling); the extents strip of a sparse mapping
 * lists exactly its two written pages. Screenshots go to $MMAPD_BROWSER_OUT/screenshots.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const L = require('./lib.js');

const SIZE = 4096;

async function hexBytes(page) {
    return page.$$eval('#hex .b', (els) => els.map((e) => parseInt(e.textContent, 16)));
}

async function statusText(page) {
    return page.$eval('#status', (e) => e.textContent);
}

async function openMapping(page, name) {
    await page.click('#maps tr[data-name="' + name + '"] a');
    await L.until('the hex view of ' + name, async () =>
        page.$eval('#hex', (e, n) => e.dataset.name === n && !!e.dataset.etag, name));
}

async function setField(page, sel, value) {
    await page.$eval(sel, (e, v) => {
        e.value = v;
    }, value);
}

/* A server with five mappings: "pattern" holds L.pattern, "objs" an
 * object at 64. The page is opened on /ui (redirected to /ui/). */
async function setup(browser, label) {
    const s = await L.startMmapd(label, []);
    const pat = L.pattern(SIZE);
    fs.writeFileSync(path.join(s.dir, 'pattern.bin'), pat);
    for (const n of ['alpha', 'beta', 'objs', 'pattern', 'zeta'])
        L.check(L.curlStatus('-X', 'PUT', s.base + '/v1/maps/' + n, '-d', '{"size": ' + SIZE + '}') === 201, 'create ' + n);
    L.check(L.curlStatus('-X', 'PUT', s.base + '/v1/maps/pattern/data', '--data-binary',
        '@' + path.join(s.dir, 'pattern.bin')) === 204, 'write the pattern');
    L.check(L.curlStatus('-X', 'PUT', s.base + '/v1/maps/objs/objects/64', '-d',
        '{"hello": [1, 2, 3], "who": "<b>inspector</b>"}') < 300, 'store an object');

    const page = await L.watchedPage(browser);

    /* /ui answers 308 to ui/; the page comes with its CSP. */
    const first = await page.goto(s.base + '/ui', { waitUntil: 'load' });
    L.check(page.url() === s.base + '/ui/', 'redirected to /ui/, at ' + page.url());
    L.check(/script-src 'self'/.test(first.headers()['content-security-policy'] || ''), 'CSP on the page');
    await page.waitForSelector('body[data-ready="1"]');
    await L.until('the listing', async () => (await page.$$('#maps tbody tr')).length === 5);
    return { s, page, pat, w: page.watch };
}

/* The listing pages with `limit` and `next`, and shows lease states. */
async function list(browser) {
    const { s, page, w } = await setup(browser, 'ui-list');

    /* The listing, two at a time: alpha beta | objs pattern | zeta; beta
     * under a lease. */
    L.check(L.curlStatus('-X', 'POST', s.base + '/v1/maps/beta/lease', '-d',
        '{"action": "acquire", "duration": -1}') === 201, 'lease beta');
    await page.goto(s.base + '/ui/?limit=2', { waitUntil: 'load' });
    const names = async () => page.$$eval('#maps tbody tr', (rs) => rs.map((r) => r.dataset.name).join(' '));
    await L.until('page 1', async () => (await names()) === 'alpha beta');
    await L.until('lease states', async () =>
        (await page.$$eval('#maps td.lease', (t) => t.map((x) => x.textContent).join(' '))) === 'available leased');
    await page.click('#maps-next');
    await L.until('page 2', async () => (await names()) === 'objs pattern');
    await page.click('#maps-next');
    await L.until('page 3', async () => (await names()) === 'zeta');
    L.check(await page.$eval('#maps-next', (b) => b.disabled), 'no page after the last');
    await page.click('#maps-first');
    await L.until('page 1 again', async () => (await names()) === 'alpha beta');
    await page.click('#maps-next');
    await L.until('page 2 again', async () => (await names()) === 'objs pattern');
    const row = await page.$eval('#maps tr[data-name="pattern"]', (r) =>
        Array.from(r.cells).map((c) => c.textContent));
    L.check(row[1] === '4.00 KiB' && row[2] === 'file' && row[3] === 'readwrite', 'row ' + row.join('|'));
    await L.screenshot(page, 'list');
    w.check();
}

/* The hex view shows the pattern, jumps, and highlights what another
 * client wrote. */
async function browse(browser) {
    const { s, page, pat, w } = await setup(browser, 'ui-browse');

    /* The pattern through the hex view: the first page, then offset 1000
     * (shown from 992, the start of its row). */
    await openMapping(page, 'pattern');
    let got = await hexBytes(page);
    L.check(got.length === 512, 'a page of 512 bytes, got ' + got.length);
    L.check(got.every((b, i) => b === pat[i]), 'the first page holds the pattern');
    const ascii = await page.$$eval('#hex .asc', (e) => e.slice(0, 16).map((x) => x.textContent).join(''));
    const wantAscii = Array.from(pat.subarray(0, 16)).map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    L.check(ascii === wantAscii, 'ASCII column ' + ascii + ' vs ' + wantAscii);
    await setField(page, '#v-offset', '1000');
    await page.click('#v-jump button[type=submit]');
    await L.until('offset 992', async () => page.$eval('#hex', (e) => e.dataset.offset === '992'));
    got = await hexBytes(page);
    L.check(got.length === 512 && got.every((b, i) => b === pat[992 + i]), 'the page at 992 holds the pattern');
    await L.screenshot(page, 'inspector');

    /* Another client writes: the view, following GET .../events (no
     * polling runs then), highlights exactly those. */
    await L.until('the live view on the event stream', async () =>
        page.$eval('body', (b) => b.dataset.live === 'events'));
    L.check(L.curlStatus('-X', 'PUT', s.base + '/v1/maps/pattern/data', '-H', 'Content-Range: bytes 997-998/*',
        '--data-binary', 'ZZ') === 204, 'curl write');
    await L.until('the changed bytes highlighted', async () =>
        (await page.$$eval('#hex .b.changed', (e) => e.map((x) => x.dataset.i + '=' + x.textContent).join(' '))) === '5=5a 6=5a');
    L.check(await page.$eval('body', (b) => b.dataset.live === 'events'), 'still on the event stream');
    await L.screenshot(page, 'changed');
    w.check();
}

/* An edit lands; a concurrent write turns the next edit into a 412. */
async function edit(browser) {
    const { s, page, pat, w } = await setup(browser, 'ui-edit');
    await openMapping(page, 'pattern');
    await setField(page, '#v-offset', '992');
    await page.click('#v-jump button[type=submit]');
    await L.until('offset 992', async () => page.$eval('#hex', (e) => e.dataset.offset === '992'));
    let got;

    /* An edit through the page, checked with curl. */
    await page.click('#hex .b[data-i="8"]');
    L.check((await page.$eval('#e-offset', (e) => e.value)) === '1000', 'clicking a byte selects its offset');
    await setField(page, '#e-bytes', 'de ad be ef');
    await page.click('#e-write');
    await L.until('the write acknowledged', async () => /wrote 4 byte/.test(await statusText(page)));
    L.check(L.curl('-r', '1000-1003', s.base + '/v1/maps/pattern/data').toString('hex') === 'deadbeef', 'curl reads the edit');
    await L.until('the edit shown', async () => {
        const b = await hexBytes(page);
        return b[8] === 0xde && b[11] === 0xef;
    });

    /* A concurrent write between the read and the edit: 412, shown, the
     * view re-read, nothing written. */
    await page.click('#v-live');
    L.check(!(await page.$eval('#v-live', (e) => e.checked)), 'live off');
    const before = await page.$eval('#hex', (e) => e.dataset.etag);
    L.check(L.curlStatus('-X', 'PUT', s.base + '/v1/maps/pattern/data', '-H', 'Content-Range: bytes 1010-1011/*',
        '--data-binary', 'YY') === 204, 'the concurrent write');
    w.expect(/status of 412/);
    await setField(page, '#e-offset', '1004');
    await setField(page, '#e-bytes', '01 02');
    await page.click('#e-write');
    await L.until('the conflict shown', async () => /conflict: 412/.test(await statusText(page)));
    w.done();
    L.check(w.seen.some((t) => /412/.test(t)), 'the 412 reached the browser');
    L.check(await page.$eval('#status', (e) => e.classList.contains('error')), 'shown as an error');
    const etagNow = L.curl('-sI', s.base + '/v1/maps/pattern/data').toString().match(/^etag: (.*?)\r?$/im)[1];
    const after = await page.$eval('#hex', (e) => e.dataset.etag);
    L.check(after !== before && after === etagNow, 'the view was re-read: ' + after + ' vs ' + etagNow);
    got = await hexBytes(page);
    L.check(got[1010 - 992] === 0x59 && got[1011 - 992] === 0x59, 'the re-read view shows the other write');
    L.check(L.curl('-r', '1004-1005', s.base + '/v1/maps/pattern/data').equals(pat.subarray(1004, 1006)),
        'the refused edit wrote nothing');
    await L.screenshot(page, 'conflict');
    w.check();
}

/* Objects decode to JSON, shown as text; a missing one is a 404 shown. */
async function objects(browser) {
    const { page, w } = await setup(browser, 'ui-objects');

    /* Objects: the record at 64 decodes; 8 holds none (404 shown). */
    await openMapping(page, 'objs');
    await setField(page, '#o-offset', '64');
    await page.click('#o-decode');
    await L.until('the object', async () => (await page.$eval('#o-json', (e) => e.textContent)).length > 0);
    const obj = JSON.parse(await page.$eval('#o-json', (e) => e.textContent));
    L.check(JSON.stringify(obj) === JSON.stringify({ hello: [1, 2, 3], who: '<b>inspector</b>' }), 'object ' + JSON.stringify(obj));
    L.check((await page.$$('#o-json b')).length === 0, 'JSON shown as text, never as markup');
    w.expect(/status of 404/);
    await setField(page, '#o-offset', '8');
    await page.click('#o-decode');
    await L.until('no object at 8', async () => /no_object/.test(await statusText(page)));
    w.done();
    await L.screenshot(page, 'object');
    w.check();
}

/* The service page: figures and three charts that have drawn lines. */
async function service(browser) {
    const { s, page, w } = await setup(browser, 'ui-service');
    await page.click('#tab-service');
    await L.until('service figures', async () => /hits \d+/.test(await page.$eval('#svc-summary', (e) => e.textContent)));
    /* Traffic while the charts sample (once a second), until each chart
     * has drawn a line above its baseline: cache hits, requests and bytes
     * all rise above zero. */
    const inked = async (id) => page.$eval('#' + id, (c) => {
        const d = c.getContext('2d').getImageData(0, 20, c.width, c.height - 24).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4)
            n += d[i] > 0 ? 1 : 0;
        return n;
    });
    const ids = ['c-cache', 'c-req', 'c-bytes'];
    await L.until('three charts with lines', async () => {
        await Promise.all(Array.from({ length: 10 }, () =>
            fetch(s.base + '/v1/maps/pattern/data', { headers: { Range: 'bytes=0-4095' } }).then((r) => r.arrayBuffer())));
        await new Promise((r) => setTimeout(r, 400));
        const n = await Promise.all(ids.map(inked));
        return n.every((x) => x > 50);
    }, 20000);
    await L.screenshot(page, 'service');
    w.check();
    await page.close();
}

/* The page's CSP refuses an inline script, and the console says so. */
async function csp(browser) {
    const { page, w } = await setup(browser, 'ui-csp');
    /* The CSP refuses an inline script, and says so on the console. */
    w.expect(/Content Security Policy/);
    const ran = await page.evaluate(() => new Promise((resolve) => {
        let violated = null;
        document.addEventListener('securitypolicyviolation', (e) => {
            violated = e.violatedDirective;
        }, { once: true });
        const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true;';
        document.body.appendChild(s);
        setTimeout(() => resolve({ ran: window.__inlineRan === true, violated }), 300);
    }));
    L.check(!ran.ran, 'the inline script did not run');
    L.check(/^script-src/.test(ran.violated || ''), 'a CSP violation of script-src: ' + ran.violated);
    await L.until('the CSP console report', async () => w.seen.some((t) => /Content Security Policy/.test(t)), 3000);
    w.done();

    w.check();
    await page.close();
}

async function withToken(browser) {
    const tokens = path.join(L.OUT, 'tokens.json');
    fs.writeFileSync(tokens, JSON.stringify({ tokens: [{ token: 'ui-test-7d1e', read: ['*'], write: ['*'], admin: true }] }));
    const s = await L.startMmapd('ui-token', ['--token-file', tokens]);
    const auth = ['-H', 'Authorization: Bearer ui-test-7d1e'];
    L.check(L.curlStatus(...auth, '-X', 'PUT', s.base + '/v1/maps/secret', '-d', '{"size": 64}') === 201, 'create');
    L.check(L.curlStatus(...auth, '-X', 'PUT', s.base + '/v1/maps/secret/data', '--data-binary', 'token works') === 204, 'write');
    L.check(L.curlStatus(s.base + '/ui/app.js') === 200, 'assets need no token');
    L.check(L.curlStatus(s.base + '/v1/maps') === 401, 'the API does');

    const page = await L.watchedPage(browser);
    const w = page.watch;
    w.expect(/status of 401/);
    await page.goto(s.base + '/ui/', { waitUntil: 'load' });
    await L.until('the token prompt', async () => /needs a token/.test(await statusText(page)));
    w.done();
    await page.type('#token', 'ui-test-7d1e');
    await page.click('#token-save');
    await L.until('the listing with the token', async () =>
        (await page.$$eval('#maps tbody tr', (rs) => rs.map((r) => r.dataset.name).join(' '))) === 'secret');
    L.check((await page.evaluate(() => sessionStorage.getItem('mmapd.token'))) === 'ui-test-7d1e', 'kept in sessionStorage');
    await openMapping(page, 'secret');
    const b = await hexBytes(page);
    L.check(Buffer.from(b.slice(0, 11)).toString() === 'token works', 'bytes read with the token');
    /* EventSource cannot send the token: with one, live polls. */
    L.check(await page.$eval('body', (e) => e.dataset.live === 'poll'), 'live polls with a token');
    /* A reload keeps the token (same tab), and the page works at once. */
    await page.reload({ waitUntil: 'load' });
    await L.until('the listing after a reload', async () =>
        (await page.$$eval('#maps tbody tr', (rs) => rs.length)) === 1);
    await L.screenshot(page, 'token');
    w.check();
    await page.close();
}

/* The extents strip of a sparse mapping lists exactly the two pages
 * written, far apart, paged one extent an answer (?limit=1: after/next). */
async function extents(browser) {
    const s = await L.startMmapd('ui-extents', []);
    const size = 16 << 20;
    const far = 8 << 20;
    L.check(L.curlStatus('-X', 'PUT', s.base + '/v1/maps/sparse', '-d',
        '{"size": ' + size + ', "allocation": "sparse"}') === 201, 'create sparse');
    for (const at of [100, far + 5])
        L.check(L.curlStatus('-X', 'PUT', s.base + '/v1/maps/sparse/data', '-H',
            'Content-Range: bytes ' + at + '-' + (at + 3) + '/*', '--data-binary', 'data') === 204, 'write at ' + at);
    const page = await L.watchedPage(browser);
    const w = page.watch;
    await page.goto(s.base + '/ui/?limit=1', { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="1"]');
    await L.until('the listing', async () => (await page.$$('#maps tbody tr')).length === 1);
    await openMapping(page, 'sparse');
    await L.until('the extents strip', async () =>
        page.$eval('#extents', (e) => e.dataset.name === 'sparse'));
    const got = await page.$eval('#extents', (e) => [e.dataset.extents, e.dataset.complete]);
    L.check(got[0] === '0+4096 ' + far + '+4096', 'the extents ' + got[0]);
    L.check(got[1] === '1', 'listed through');
    await L.screenshot(page, 'extents');
    w.check();
    await page.close();
}

/* One case per run (ctest runs each as its own test). */
const cases = { list, browse, edit, objects, service, csp, token: withToken, extents };
const which = process.argv[2];
if (!cases[which]) {
    console.error('usage: ui.test.js ' + Object.keys(cases).join('|'));
    process.exit(2);
}
L.run(async () => {
    const browser = await L.launch();
    try {
        await cases[which](browser);
    } finally {
        await browser.close();
        fs.rmSync(browser.profile, { recursive: true, force: true });
    }
}, 45000);
