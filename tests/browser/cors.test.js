/* cors.test.js - CORS (README "CORS") as a real browser enforces it.
 *
 * A page served by a tiny static server on another loopback port (another
 * origin) fetch()es a Range of a mapping from mmapd:
 *  - allowed: mmapd started with --cors-origin set to the page's origin
 *    answers 206 with the bytes, and the page can read the exposed
 *    Content-Range and ETag; a conditional PATCH with a token (preflighted:
 *    Authorization, If-Match and a non-safelisted Content-Type) lands too;
 *  - refused: the same fetch to an mmapd without --cors-origin rejects
 *    (TypeError), the browser logs the CORS refusal, and the page never
 *    sees a byte.
 * Fails on any console error besides that announced refusal.
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const L = require('./lib.js');

const PAGE = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>other origin</title>' +
    '<link rel="icon" href="data:,"></head><body><p>another origin</p></body></html>';

/* A static server on 127.0.0.1:0 that answers every GET with PAGE. */
function pageServer() {
    const srv = http.createServer((req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(PAGE);
    });
    return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

/* In the page: fetch url with init; what came back, or how it failed. */
async function pageFetch(page, url, init) {
    return page.evaluate(async (u, i) => {
        try {
            const r = await fetch(u, i);
            const b = new Uint8Array(await r.arrayBuffer());
            return { status: r.status, bytes: Array.from(b), contentRange: r.headers.get('Content-Range'),
                etag: r.headers.get('ETag') };
        } catch (e) {
            return { rejected: e.name + ': ' + e.message };
        }
    }, url, init);
}

async function main() {
    const web = await pageServer();
    const origin = 'http://127.0.0.1:' + web.address().port;
    const tokens = path.join(L.OUT, 'cors-tokens.json');
    fs.writeFileSync(tokens, JSON.stringify({ tokens: [{ token: 'cors-test-41', read: ['*'], write: ['*'], admin: true }] }));
    const allowed = await L.startMmapd('cors-on', ['--cors-origin', origin, '--token-file', tokens]);
    const closed = await L.startMmapd('cors-off', []);
    const auth = ['-H', 'Authorization: Bearer cors-test-41'];
    const pat = L.pattern(256);
    const patFile = path.join(L.OUT, 'cors-pattern.bin');
    fs.writeFileSync(patFile, pat);
    for (const [s, a] of [[allowed, auth], [closed, []]]) {
        L.check(L.curlStatus(...a, '-X', 'PUT', s.base + '/v1/maps/shared', '-d', '{"size": 256}') === 201, 'create');
        L.check(L.curlStatus(...a, '-X', 'PUT', s.base + '/v1/maps/shared/data', '--data-binary', '@' + patFile) === 204,
            'write the pattern');
    }

    const browser = await L.launch();
    try {
        const page = await L.watchedPage(browser);
        const w = page.watch;
        await page.goto(origin + '/', { waitUntil: 'load' });
        L.check((await page.evaluate(() => location.origin)) === origin, 'the page is on ' + origin);

        /* Allowed: the bytes of a Range, and the exposed headers. */
        let r = await pageFetch(page, allowed.base + '/v1/maps/shared/data',
            { headers: { Range: 'bytes=10-29', Authorization: 'Bearer cors-test-41' } });
        L.check(!r.rejected, 'the allowed fetch resolved: ' + r.rejected);
        L.check(r.status === 206, 'status ' + r.status);
        L.check(Buffer.from(r.bytes).equals(pat.subarray(10, 30)), 'the bytes 10-29');
        L.check(r.contentRange === 'bytes 10-29/256', 'Content-Range readable: ' + r.contentRange);
        L.check(/^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/.test(r.etag || ''), 'ETag readable: ' + r.etag);

        /* A preflighted, conditional write from that origin. */
        const body = 'Content-Range: bytes 0-3/*\r\n\r\nCORS';
        r = await pageFetch(page, allowed.base + '/v1/maps/shared/data', {
            method: 'PATCH',
            headers: { Authorization: 'Bearer cors-test-41', 'Content-Type': 'message/byterange', 'If-Match': r.etag },
            body,
        });
        L.check(r.status === 204, 'the PATCH from the page: ' + JSON.stringify(r));
        L.check(L.curl(...auth, '-r', '0-3', allowed.base + '/v1/maps/shared/data').toString() === 'CORS',
            'curl reads the page\'s write');

        /* Refused: no --cors-origin, the browser rejects the fetch. */
        w.expect(/CORS policy|Failed to load resource: net::ERR_FAILED/);
        r = await pageFetch(page, closed.base + '/v1/maps/shared/data', { headers: { Range: 'bytes=10-29' } });
        L.check(r.rejected && /TypeError/.test(r.rejected), 'the fetch without --cors-origin rejects: ' + JSON.stringify(r));
        await L.until('the CORS refusal on the console', async () => w.seen.some((t) => /CORS policy/.test(t)), 3000);
        /* The server did answer (the browser withheld it): proof that the
         * refusal is the browser's CORS check, not a network failure. */
        L.check(L.curlStatus('-r', '10-29', closed.base + '/v1/maps/shared/data') === 206, 'closed server answers curl');
        w.done();
        w.check();
        await page.close();
    } finally {
        await browser.close();
        fs.rmSync(browser.profile, { recursive: true, force: true });
        web.close();
    }
}

L.run(main, 45000);
