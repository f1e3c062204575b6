/* lib.js - what the browser tests share: a real mmapd on an ephemeral
 * loopback port, curl against it, Debian's Chromium driven by
 * puppeteer-core, and a console watch that fails the test on any error the
 * test did not announce.
 *
 * Everything is bounded: each wait has a timeout, and run() gives the whole
 * test a deadline, after which it fails (ctest's TIMEOUT is the last resort).
 */
'use strict';

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const puppeteer = require(path.join(process.env.MMAPD_NODE_DIR, 'node_modules', 'puppeteer-core'));

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = process.env.MMAPD_BROWSER_OUT; /* screenshots and scratch */
const BIN = process.env.MMAPD_BIN;

function fail(msg) {
    throw new Error(msg);
}

function check(cond, msg) {
    if (!cond)
        fail('check failed: ' + msg);
}

/* The pattern the tests write and read back: byte i is (7 i + 3) mod 256. */
function pattern(n) {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++)
        b[i] = (i * 7 + 3) & 0xff;
    return b;
}

const children = [];
const dirs = [];

/* Start mmapd with args on 127.0.0.1:0; resolves to {base, port, proc}
 * once it prints its listening line (10 s at most). */
function startMmapd(label, args) {
    const dir = fs.mkdtempSync(path.join(OUT, label + '-'));
    dirs.push(dir);
    const proc = spawn(BIN, ['--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'),
        '--access-log', 'off', ...(args || [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proc);
    let seen = '';
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(label + ': mmapd did not listen within 10 s: ' + seen)), 10000);
        const onData = (d) => {
            seen += d.toString();
            const m = /mmapd listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
            if (m) {
                clearTimeout(timer);
                resolve({ base: 'http://127.0.0.1:' + m[1], port: Number(m[1]), proc, dir });
            }
        };
        proc.stdout.on('data', onData);
        proc.stderr.on('data', onData);
        proc.on('exit', (code) => reject(new Error(label + ': mmapd exited (' + code + '): ' + seen)));
    });
}

/* curl with args; returns stdout as a Buffer. Throws on a transport error. */
function curl(...args) {
    return execFileSync('curl', ['-sS', '--max-time', '10', ...args], { maxBuffer: 1 << 24 });
}

/* curl and give back the status code (the body goes to /dev/null). */
function curlStatus(...args) {
    return Number(curl('-o', '/dev/null', '-w', '%{http_code}', ...args).toString());
}

async function launch() {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mmapd-chromium-'));
    const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        userDataDir: profile,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--disable-dev-shm-usage'],
        protocolTimeout: 20000,
    });
    browser.profile = profile;
    return browser;
}

/* A page whose console errors (console.error, failed loads the browser
 * logs, uncaught exceptions, CSP reports) are all recorded. expect(re)
 * announces errors matching re as part of the step; check() fails on any
 * other. */
async function watchedPage(browser) {
    const page = await browser.newPage();
    await page.setViewport({ width: 1180, height: 900 });
    page.setDefaultTimeout(10000);
    const w = { errors: [], allowed: [], seen: [] };
    const record = (text) => {
        const hit = w.allowed.find((re) => re.test(text));
        if (hit)
            w.seen.push(text);
        else
            w.errors.push(text);
    };
    page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'assert')
            record(m.text() + (m.location() && m.location().url ? ' (' + m.location().url + ')' : ''));
    });
    page.on('pageerror', (e) => record('uncaught: ' + e.message));
    w.expect = (re) => w.allowed.push(re);
    w.done = () => {
        w.allowed = [];
    };
    w.check = () => {
        if (w.errors.length > 0)
            fail('console errors:\n  ' + w.errors.join('\n  '));
    };
    page.watch = w;
    return page;
}

async function screenshot(page, name) {
    const dir = path.join(OUT, 'screenshots');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name + '.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log('screenshot ' + file);
}

/* Poll fn (async, truthy when done) every 100 ms for at most ms. */
async function until(what, fn, ms) {
    const end = Date.now() + (ms || 8000);
    for (;;) {
        const v = await fn();
        if (v)
            return v;
        if (Date.now() > end)
            fail('timed out waiting for ' + what);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/* Run main(), then stop every mmapd (SIGTERM, 5 s at most) and remove
 * its data, and exit 0, or 1 with the error. */
function run(main, deadlineMs) {
    const finish = async (code, msg) => {
        clearTimeout(timer);
        if (code === 0)
            console.log(msg);
        else
            console.error(msg);
        await cleanup();
        process.exit(code);
    };
    const timer = setTimeout(() => finish(1, 'FAIL: the test ran past its ' + deadlineMs / 1000 + ' s deadline'),
        deadlineMs);
    main().then(() => finish(0, 'PASS'), (e) => finish(1, 'FAIL: ' + (e && e.stack ? e.stack : e)));
}

async function cleanup() {
    await Promise.all(children.map((c) => new Promise((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null)
            return resolve();
        const t = setTimeout(() => {
            c.kill('SIGKILL');
            resolve();
        }, 5000);
        c.on('exit', () => {
            clearTimeout(t);
            resolve();
        });
        c.kill('SIGTERM');
    })));
    for (const d of dirs)
        fs.rmSync(d, { recursive: true, force: true });
}

module.exports = { check, fail, pattern, startMmapd, curl, curlStatus, launch, watchedPage,
    screenshot, until, run, OUT };
