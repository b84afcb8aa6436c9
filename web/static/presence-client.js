// presence-client.js: the browser client of presence protocol v1.
//
// A plain ES module with no dependencies. It keeps one WebSocket to the hub
// open (reconnecting with jittered backoff), tells the hub when the person at
// the keyboard is active or idle, and turns the protocol's frames into a small
// event API and promise-returning commands. docs/client.md shows how to use it.

/** The WebSocket subprotocol this client speaks. */
export const SUBPROTOCOL = 'presence.v1';

/**
 * Close code of a refused or expired token. The client reconnects after it
 * only with a new token from `getToken()`, never with the refused one.
 */
export const CLOSE_UNAUTHORIZED = 4001;

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 20000;
const ACTIVITY_THROTTLE_MS = 30000;
const HIDDEN_IDLE_MS = 60000;
const COMMAND_TIMEOUT_MS = 15000;
const DEFAULT_IDLE_LIMIT_MS = 300000;
const DEFAULT_HEARTBEAT_MS = 10000;
const MAX_USERS_PER_COMMAND = 1000;
// Sessions and refresh: see #scheduleRefresh.
const REFRESH_MARGIN_MIN_MS = 1000;
const REFRESH_MARGIN_MAX_MS = 60000;
const MAX_AUTH_FAILURES = 3;
const MAX_TIMEOUT_MS = 2 ** 31 - 1; // longer setTimeout delays fire at once
const INPUT_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'touchstart', 'wheel'];

/**
 * The error a command's promise rejects with.
 *
 * `code` is the protocol's error code (`bad_request`, `forbidden`, `not_found`,
 * `conflict`, `over_limit`, ...) or one of the client's own: `disconnected`
 * (the socket closed before the reply came, or was not open) and `timeout`.
 */
export class PresenceError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'PresenceError';
    /** @type {string} */
    this.code = code;
  }
}

/**
 * @typedef {object} Entry One user's presence, as in `presence` events.
 * @property {string} id
 * @property {string} status online, away, busy, offline, or disabled
 * @property {string} text
 * @property {string|null} custom the custom status id it came from
 * @property {string|null} since RFC 3339
 * @property {string|null} last_seen RFC 3339
 * @property {string|null} until RFC 3339: when the chosen status clears by itself
 * @property {string|null} reason why the status last changed: connect,
 *   disconnect, heartbeat, idle, active, manual, expired, catalog, node_lost
 */

/**
 * @typedef {object} Service
 * @property {'enabled'|'disabled'} state
 * @property {'connection_limit'|'admin'|null} reason
 * @property {number} connections
 * @property {number|null} limit null on the enterprise edition
 * @property {string} [edition]
 */

/**
 * @typedef {object} CustomStatus
 * @property {string} id
 * @property {string} name
 * @property {'online'|'away'|'busy'|'offline'} presence
 * @property {number|null} duration_s default lifetime of a pick; null: never
 */

/**
 * @typedef {object} ClientOptions
 * @property {string} [url] WebSocket URL; default `ws(s)://<this host>/ws`.
 * @property {() => string|Promise<string>} [getToken] returns a JWT; called
 *   before every connect and a little before the token's `exp`, so it should
 *   fetch a fresh one. Required unless `token` is given.
 * @property {string|(() => string|Promise<string>)} [token] a fixed JWT (no
 *   refresh, no reconnect after 4001), or a function, as `getToken`.
 * @property {number} [refreshMarginMs] how long before `exp` to refresh;
 *   default a fifth of the token's lifetime, between 1 s and 60 s.
 * @property {number} [backoffMinMs] first reconnect delay ceiling; default 500.
 * @property {number} [backoffMaxMs] largest reconnect delay; default 20000.
 * @property {string} [client] what `hello` says the client is; default `web/1.0`.
 * @property {boolean} [trackActivity] watch input and visibility and send
 *   `activity`/`idle`; default true.
 * @property {number} [hiddenIdleMs] how long the page may stay hidden before
 *   the client reports `idle`; default 60000. `Infinity` turns it off.
 * @property {number} [activityThrottleMs] least time between two `activity`
 *   frames while already active; default 30000.
 * @property {number} [commandTimeoutMs] a command with no reply by then
 *   rejects with code `timeout`; default 15000.
 * @property {typeof WebSocket} [WebSocket] the WebSocket constructor (tests).
 */

/**
 * A connection to the presence hub that survives network trouble.
 *
 * Events (subscribe with {@link PresenceClient#on}):
 * - `welcome` (welcome frame): after every successful `hello`, including
 *   reconnects.
 * - `presence` ({users: Entry[], snapshot: boolean, all: boolean}): changes,
 *   and snapshots (the replies to `subscribe`, also after a reconnect;
 *   `all` is true for the snapshot of `subscribe {all: true}`, which lists
 *   only the users who are not offline).
 * - `service` (Service): the presence service was switched on or off.
 * - `statuses` ({op, status}): the custom status catalog changed.
 * - `notice` ({level, code, message, connections, limit}): admins only.
 * - `close` ({code, reason, reconnectInMs}): the socket closed;
 *   `reconnectInMs` is null when the client gave up (`close()`, or a 4001
 *   that `getToken()` had no new token for).
 * - `refresh` ({expires}): the hub took a new token; the session now ends
 *   at `expires` (a Date, or null for a token without exp).
 * - `error` (PresenceError): an error frame that answered no command.
 */
export class PresenceClient {
  /** @type {Map<string, Set<Function>>} */
  #handlers = new Map();
  /** @type {Map<string, {resolve: Function, reject: Function, timer: any, type: string}>} */
  #pending = new Map();
  #opts;
  /** @type {WebSocket|null} */
  #ws = null;
  #seq = 0;
  #attempt = 0;
  #reconnectTimer = null;
  #stopped = true;
  #ready = false;
  #subAll = false;
  /** @type {Set<string>} */
  #subUsers = new Set();

  // Sessions: the token in use, the one the hub last refused, and the
  // timer that refreshes a little before exp.
  #token = '';
  #refusedToken = '';
  #refusedReason = '';
  #authFailures = 0;
  #refreshTimer = null;

  // Activity tracking.
  #lastInput = Date.now();
  #lastActivitySent = 0;
  #idleSent = false;
  #idleTimer = null;
  #hiddenTimer = null;
  #idleLimitMs = DEFAULT_IDLE_LIMIT_MS;
  #heartbeatMs = DEFAULT_HEARTBEAT_MS;
  #lastFrameAt = 0;
  #watchdog = null;
  #listening = false;

  /** @type {object|null} The last welcome frame. */
  welcome = null;
  /** @type {{id: string, name: string, admin: boolean}|null} */
  user = null;
  /** @type {Service|null} The service state, kept current by `service` events. */
  service = null;
  /** @type {object|null} The signed-in user's own status (welcome and command results). */
  self = null;
  /** @type {CustomStatus[]} The custom status catalog, kept current by `statuses` events. */
  statuses = [];

  /** @param {ClientOptions} options */
  constructor(options) {
    if (!options || !(options.getToken || options.token)) {
      throw new TypeError('PresenceClient: getToken (or token) is required');
    }
    this.#opts = {
      client: 'web/1.0',
      trackActivity: true,
      hiddenIdleMs: HIDDEN_IDLE_MS,
      activityThrottleMs: ACTIVITY_THROTTLE_MS,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      backoffMinMs: BACKOFF_MIN_MS,
      backoffMaxMs: BACKOFF_MAX_MS,
      WebSocket: globalThis.WebSocket,
      ...options,
    };
    if (!this.#opts.getToken && typeof options.token === 'function') this.#opts.getToken = options.token;
    if (!this.#opts.url) {
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      this.#opts.url = `${scheme}//${location.host}/ws`;
    }
  }

  /** Whether the socket is open and the hub has welcomed this client. */
  get connected() {
    return this.#ready;
  }

  /**
   * Listens to an event. Returns a function that stops listening.
   * @param {'welcome'|'presence'|'service'|'statuses'|'notice'|'close'|'error'} type
   * @param {(payload: any) => void} fn
   * @returns {() => void}
   */
  on(type, fn) {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    set.add(fn);
    return () => this.off(type, fn);
  }

  /**
   * Stops a listener added with {@link PresenceClient#on}.
   * @param {string} type
   * @param {Function} fn
   */
  off(type, fn) {
    this.#handlers.get(type)?.delete(fn);
  }

  #emit(type, payload) {
    for (const fn of [...(this.#handlers.get(type) || [])]) {
      try {
        fn(payload);
      } catch (err) {
        // A listener's bug must not break the connection.
        setTimeout(() => { throw err; });
      }
    }
  }

  /**
   * Opens the connection (and keeps it open until {@link PresenceClient#close}).
   * Resolves with the welcome frame of the first successful `hello`.
   * @returns {Promise<object>}
   */
  connect() {
    if (this.#ready) return Promise.resolve(this.welcome);
    const first = new Promise((resolve, reject) => {
      const offWelcome = this.on('welcome', (w) => { done(); resolve(w); });
      const offClose = this.on('close', (c) => {
        if (c.reconnectInMs === null) {
          done();
          reject(new PresenceError(c.code === CLOSE_UNAUTHORIZED ? 'unauthorized' : 'disconnected',
            c.reason || 'connection closed'));
        }
      });
      const done = () => { offWelcome(); offClose(); };
    });
    if (this.#stopped) {
      this.#stopped = false;
      this.#listenInput(true);
      this.#open();
    }
    return first;
  }

  /**
   * Closes the connection for good: no reconnect, pending commands reject
   * with code `disconnected`.
   */
  close() {
    const wasStopped = this.#stopped;
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    this.#listenInput(false);
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      ws.close(1000, 'bye');
      this.#closed(ws, 1000, 'client closed');
    } else if (!wasStopped) {
      // Between two attempts: still tell listeners (and a pending connect()).
      this.#emit('close', { code: 1000, reason: 'client closed', reconnectInMs: null });
    }
  }

  async #open() {
    let token;
    try {
      token = this.#opts.getToken ? await this.#opts.getToken() : this.#opts.token;
    } catch (err) {
      if (!this.#stopped) {
        this.#emit('close', { code: 0, reason: `no token: ${err.message}`, reconnectInMs: this.#scheduleReconnect() });
      }
      return;
    }
    if (this.#stopped) return;
    // After a 4001, only a new, unexpired token is worth a connection:
    // the refused one would be refused again, forever.
    if (this.#refusedToken && (token === this.#refusedToken || tokenExpired(token))) {
      this.#giveUp(this.#refusedReason || 'the token was refused');
      return;
    }
    this.#token = token;
    let ws;
    try {
      ws = new this.#opts.WebSocket(this.#opts.url, SUBPROTOCOL);
    } catch (err) {
      this.#emit('close', { code: 0, reason: err.message, reconnectInMs: this.#scheduleReconnect() });
      return;
    }
    this.#ws = ws;
    let closeReason = '';
    ws.onopen = () => {
      this.#lastFrameAt = Date.now();
      this.#rawSend({ type: 'hello', id: 'hello', token, client: this.#opts.client });
    };
    ws.onmessage = (ev) => {
      if (this.#ws !== ws) return;
      this.#lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (frame.type === 'error' && frame.id === 'hello') closeReason = frame.message;
      this.#frame(frame);
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#closed(ws, ev.code, ev.reason || closeReason);
    };
  }

  #closed(ws, code, reason) {
    ws.onopen = ws.onmessage = ws.onclose = null;
    this.#ready = false;
    clearInterval(this.#watchdog);
    clearTimeout(this.#refreshTimer);
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new PresenceError('disconnected', 'the connection closed before the reply'));
      this.#pending.delete(id);
    }
    let reconnectInMs = null;
    if (code === CLOSE_UNAUTHORIZED) {
      // Refused or expired: reconnect only with a new token, and not after
      // several refusals in a row.
      this.#refusedToken = this.#token;
      this.#refusedReason = reason;
      if (!this.#opts.getToken || ++this.#authFailures >= MAX_AUTH_FAILURES) this.#stopped = true;
    }
    if (!this.#stopped) reconnectInMs = this.#scheduleReconnect();
    else this.#listenInput(false);
    this.#emit('close', { code, reason, reconnectInMs });
  }

  #giveUp(reason) {
    this.#stopped = true;
    this.#listenInput(false);
    this.#emit('close', { code: CLOSE_UNAUTHORIZED, reason, reconnectInMs: null });
  }

  // Full-jitter exponential backoff: a random delay in [0, min(max, min*2^n)].
  #scheduleReconnect() {
    const ceiling = Math.min(this.#opts.backoffMaxMs, this.#opts.backoffMinMs * 2 ** this.#attempt);
    this.#attempt++;
    const delay = Math.round(Math.random() * ceiling);
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => this.#open(), delay);
    return delay;
  }

  /** Reconnects now, skipping the rest of the backoff delay (e.g. when the network is back). */
  reconnectNow() {
    if (this.#stopped || this.#ws) return;
    clearTimeout(this.#reconnectTimer);
    this.#open();
  }

  #frame(f) {
    switch (f.type) {
      case 'welcome':
        this.#welcome(f);
        return;
      case 'result':
      case 'pong':
      case 'error': {
        const p = f.id !== undefined && this.#pending.get(f.id);
        if (!p) {
          if (f.type === 'error') this.#emit('error', new PresenceError(f.code, f.message));
          return;
        }
        this.#pending.delete(f.id);
        clearTimeout(p.timer);
        if (f.type === 'error') {
          p.reject(new PresenceError(f.code, f.message));
          return;
        }
        if (f.self) this.self = f.self;
        if (f.service) this.service = { ...this.service, ...f.service };
        if (p.type === 'subscribe' && Array.isArray(f.users)) {
          this.#emit('presence', { users: f.users, snapshot: true, all: !!p.all });
        }
        p.resolve(f);
        return;
      }
      case 'presence':
        this.#emit('presence', { users: f.users || [], snapshot: false, all: false });
        return;
      case 'service': {
        const { type, ...svc } = f;
        this.service = { ...this.service, ...svc };
        this.#emit('service', this.service);
        return;
      }
      case 'statuses':
        this.#applyStatuses(f.op, f.status);
        this.#emit('statuses', { op: f.op, status: f.status });
        return;
      case 'notice': {
        const { type, ...notice } = f;
        this.#emit('notice', notice);
        return;
      }
    }
  }

  #applyStatuses(op, status) {
    if (!status) return;
    const rest = this.statuses.filter((s) => s.id !== status.id);
    this.statuses = op === 'deleted' ? rest : [...rest, status].sort(byName);
  }

  #welcome(w) {
    this.#ready = true;
    this.#attempt = 0;
    this.#authFailures = 0;
    this.#refusedToken = '';
    this.#scheduleRefresh();
    this.welcome = w;
    this.user = w.user;
    this.service = w.service;
    this.self = w.self;
    this.statuses = [...(w.statuses || [])].sort(byName);
    this.#idleLimitMs = w.idle_limit_ms > 0 ? w.idle_limit_ms : DEFAULT_IDLE_LIMIT_MS;
    this.#heartbeatMs = w.heartbeat_ms > 0 ? w.heartbeat_ms : DEFAULT_HEARTBEAT_MS;
    this.#startWatchdog();
    // A new connection starts online: tell the hub at once if the person
    // has been idle all along (e.g. reconnecting to a tab left alone).
    this.#idleSent = false;
    this.#lastActivitySent = Date.now();
    if (this.#opts.trackActivity) {
      if (Date.now() - this.#lastInput >= this.#idleLimitMs) this.#goIdle();
      else this.#armIdle();
      this.#armHidden();
    }
    this.#emit('welcome', w);
    this.#resubscribe();
  }

  #resubscribe() {
    if (this.#subAll) this.#send({ type: 'subscribe', all: true }).catch(() => {});
    for (const users of chunks([...this.#subUsers])) {
      this.#send({ type: 'subscribe', users }).catch(() => {});
    }
  }

  // The hub pings at the WebSocket level, which the browser answers without
  // telling us. To notice a half-open socket (laptop resumed, proxy gone),
  // ping at the protocol level when nothing came in for three heartbeats and
  // give up on the socket when the pong does not come.
  #startWatchdog() {
    clearInterval(this.#watchdog);
    let pinging = false;
    this.#watchdog = setInterval(() => {
      if (pinging || !this.#ready || Date.now() - this.#lastFrameAt < 3 * this.#heartbeatMs) return;
      const ws = this.#ws;
      pinging = true;
      this.#send({ type: 'ping' }, 2 * this.#heartbeatMs).then(() => { pinging = false; }, (err) => {
        pinging = false;
        if (err.code === 'timeout' && this.#ws === ws && ws) {
          ws.close(4000, 'no pong');
          this.#ws = null;
          this.#closed(ws, 1006, 'no reply from the server');
        }
      });
    }, this.#heartbeatMs);
  }

  // Refresh: a little before the token's exp (a fifth of its lifetime,
  // 1..60 s, or refreshMarginMs), get a new token and send `refresh`, so the
  // hub does not close the socket at exp. A refused refresh is retried at
  // half the time left; if exp comes first, the hub closes with 4001 and
  // the client reconnects with a new token.

  #scheduleRefresh(retry = false) {
    clearTimeout(this.#refreshTimer);
    const claims = tokenClaims(this.#token);
    if (!this.#opts.getToken || !claims || typeof claims.exp !== 'number') return;
    const left = claims.exp * 1000 - Date.now();
    let wait;
    if (retry) {
      wait = left / 2;
      if (wait < 500) return;
    } else {
      const life = typeof claims.iat === 'number' ? (claims.exp - claims.iat) * 1000 : left;
      const margin = this.#opts.refreshMarginMs ?? Math.min(REFRESH_MARGIN_MAX_MS, Math.max(REFRESH_MARGIN_MIN_MS, life / 5));
      wait = Math.max(0, left - margin);
    }
    this.#refreshTimer = setTimeout(() => {
      this.refresh().catch((err) => {
        if (!this.#ready) return; // closed meanwhile: the reconnect gets a token anyway
        this.#emit('error', err instanceof PresenceError ? err : new PresenceError('unauthorized', `getToken() failed: ${err.message}`));
        this.#scheduleRefresh(true);
      });
    }, Math.min(wait, MAX_TIMEOUT_MS));
  }

  /**
   * Gets a new token from `getToken()` and hands it to the hub now, which
   * moves the end of the session to its `exp`. The client does this on its
   * own a little before `exp`. Rejects with code `unauthorized` or
   * `forbidden` (another user's token) when the hub refuses it; the session
   * then still ends at the old `exp`.
   * @returns {Promise<object>} the result; `result.expires` is the new end.
   */
  async refresh() {
    if (!this.#opts.getToken) throw new PresenceError('bad_request', 'refresh needs the getToken option');
    const token = await this.#opts.getToken();
    const res = await this.#send({ type: 'refresh', token });
    this.#token = token;
    this.#scheduleRefresh();
    this.#emit('refresh', { expires: res.expires ? new Date(res.expires) : null });
    return res;
  }

  #rawSend(obj) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(obj));
    return true;
  }

  #send(cmd, timeoutMs = this.#opts.commandTimeoutMs) {
    if (!this.#ready) {
      return Promise.reject(new PresenceError('disconnected', 'not connected to the presence server'));
    }
    const id = `c${++this.#seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new PresenceError('timeout', `no reply to ${cmd.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, type: cmd.type, all: cmd.all });
      this.#rawSend({ ...cmd, id });
    });
  }

  /**
   * Sends any command and resolves with its `result` (or `pong`) frame;
   * rejects with a {@link PresenceError} on an `error` frame.
   * @param {string} type
   * @param {object} [fields]
   * @returns {Promise<object>}
   */
  command(type, fields = {}) {
    return this.#send({ ...fields, type });
  }

  /** @returns {Promise<object>} the pong frame. */
  ping() {
    return this.#send({ type: 'ping' });
  }

  /**
   * Sets the manual status (`online` means automatic) and the status text
   * together: an empty or omitted text clears it.
   * @param {'online'|'away'|'busy'|'offline'} status
   * @param {string} [text] at most 120 characters
   * @param {Expiry} [expiry] when the status clears by itself; none: never
   * @returns {Promise<object>} the result; `result.self` is the new own status.
   */
  setStatus(status, text, expiry) {
    const cmd = { type: 'set_status', status, ...expiryFields(expiry) };
    if (text) cmd.text = text;
    return this.#send(cmd);
  }

  /**
   * Takes a custom status: its presence and, as text, its name.
   * @param {string} custom the custom status id
   * @param {Expiry} [expiry] when it clears by itself; none: the custom
   *   status's default duration, if it has one
   * @returns {Promise<object>}
   */
  setCustomStatus(custom, expiry) {
    return this.#send({ type: 'set_custom_status', custom, ...expiryFields(expiry) });
  }

  /**
   * Says goodbye before closing (signing out): the user reads offline at
   * once, rather than after the server's reconnect grace.
   * @returns {Promise<object>}
   */
  bye() {
    return this.#send({ type: 'bye' });
  }

  /**
   * A user's recent status changes, newest first: `{at, status, previous,
   * text, reason}`. Another user's history needs the admin role.
   * @param {{user?: string, limit?: number}} [q] user defaults to yourself,
   *   limit (1..100) to 20
   * @returns {Promise<object[]>}
   */
  async history({ user, limit } = {}) {
    const r = await this.#send({ type: 'history', ...(user ? { user } : {}), ...(limit ? { limit } : {}) });
    return r.items || [];
  }

  /**
   * Sets the user's own idle preferences.
   * @param {{idle_limit_s?: number, auto_away?: boolean}} prefs
   * @returns {Promise<object>}
   */
  setPrefs(prefs) {
    return this.#send({ type: 'set_prefs', ...prefs });
  }

  /**
   * Subscribes to users' presence; remembered and sent again after every
   * reconnect. The snapshot also comes as a `presence` event with
   * `snapshot: true`.
   * @param {{users?: string[], all?: boolean}} what
   * @returns {Promise<object>} the result (with `users`, the snapshot).
   */
  async subscribe({ users, all } = {}) {
    if (all) {
      this.#subAll = true;
      return this.#send({ type: 'subscribe', all: true });
    }
    const fresh = (users || []).filter((u) => !this.#subUsers.has(u));
    fresh.forEach((u) => this.#subUsers.add(u));
    let last = { type: 'result', ok: true, users: [] };
    for (const part of chunks(fresh)) last = await this.#send({ type: 'subscribe', users: part });
    return last;
  }

  /**
   * Stops a subscription made with {@link PresenceClient#subscribe}.
   * @param {{users?: string[], all?: boolean}} what
   * @returns {Promise<object>}
   */
  unsubscribe({ users, all } = {}) {
    if (all) {
      this.#subAll = false;
      return this.#send({ type: 'unsubscribe', all: true });
    }
    (users || []).forEach((u) => this.#subUsers.delete(u));
    return this.#send({ type: 'unsubscribe', users });
  }

  /**
   * Reads users' presence once, without subscribing. Lists over 1,000 users
   * are split into several commands.
   * @param {string[]} users
   * @returns {Promise<Entry[]>}
   */
  async query(users) {
    const out = [];
    for (const part of chunks(users)) out.push(...(await this.#send({ type: 'query', users: part })).users || []);
    return out;
  }

  /** Admin API: `admin.*` commands. Each rejects with code `forbidden` for non-admins. */
  get admin() {
    const send = (cmd) => this.#send(cmd);
    return {
      /** @returns {Promise<object>} connections, peak, users_online, limit, edition, service */
      stats: () => send({ type: 'admin.stats' }),
      /** @param {boolean} enabled Turning on is refused with `over_limit` while at or over the limit. */
      setService: (enabled) => send({ type: 'admin.service', enabled }),
      /** @param {{query?: string, offset?: number, limit?: number}} [q] @returns {Promise<{items: CustomStatus[], total: number}>} */
      listStatuses: (q = {}) => send({ type: 'admin.statuses.list', ...q }),
      /** @param {{name: string, presence: string, duration_s?: number|null}} s duration_s: default lifetime of a pick (null: never) @returns {Promise<{status: CustomStatus}>} */
      createStatus: ({ name, presence, duration_s = null }) => send({ type: 'admin.statuses.create', name, presence, duration_s }),
      /** @param {{custom: string, name: string, presence: string, duration_s?: number|null}} s @returns {Promise<{status: CustomStatus}>} */
      updateStatus: ({ custom, name, presence, duration_s = null }) => send({ type: 'admin.statuses.update', custom, name, presence, duration_s }),
      /** @param {string} custom */
      deleteStatus: (custom) => send({ type: 'admin.statuses.delete', custom }),
      /** @param {number} idleLimitS the workspace's default idle limit, seconds */
      settings: (idleLimitS) => send({ type: 'admin.settings', idle_limit_s: idleLimitS }),
    };
  }

  // Activity tracking: any input is activity; `activity` goes out at once
  // when coming back from idle, else at most once per throttle window. After
  // idle_limit_ms without input, or hiddenIdleMs with the page hidden (a
  // hidden page sees no input, so it cannot tell), the client sends `idle`.

  #onInput = () => {
    this.#lastInput = Date.now();
    if (!this.#ready) return;
    if (this.#idleSent || Date.now() - this.#lastActivitySent >= this.#opts.activityThrottleMs) {
      this.#sendActivity();
    }
    if (!this.#idleTimer) this.#armIdle();
  };

  #onVisibility = () => {
    if (document.visibilityState === 'visible') this.#onInput();
    this.#armHidden();
  };

  #onOnline = () => this.reconnectNow();

  #listenInput(on) {
    if (typeof window === 'undefined') return;
    if (on) window.addEventListener('online', this.#onOnline);
    else window.removeEventListener('online', this.#onOnline);
    if (!this.#opts.trackActivity || on === this.#listening) return;
    this.#listening = on;
    const method = on ? 'addEventListener' : 'removeEventListener';
    for (const type of INPUT_EVENTS) window[method](type, this.#onInput, { passive: true, capture: true });
    document[method]('visibilitychange', this.#onVisibility);
    if (!on) {
      clearTimeout(this.#idleTimer);
      clearTimeout(this.#hiddenTimer);
      this.#idleTimer = null;
    }
  }

  #sendActivity() {
    this.#idleSent = false;
    this.#lastActivitySent = Date.now();
    this.#send({ type: 'activity' }).catch(() => {});
  }

  #goIdle() {
    if (this.#idleSent || !this.#ready) return;
    this.#idleSent = true;
    this.#send({ type: 'idle' }).catch(() => {});
  }

  #armIdle() {
    clearTimeout(this.#idleTimer);
    const left = this.#idleLimitMs - (Date.now() - this.#lastInput);
    // One timer, re-aimed when it fires, rather than one per input event.
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (Date.now() - this.#lastInput >= this.#idleLimitMs) this.#goIdle();
      else this.#armIdle();
    }, Math.max(0, left));
  }

  #armHidden() {
    clearTimeout(this.#hiddenTimer);
    const ms = this.#opts.hiddenIdleMs;
    if (typeof document === 'undefined' || document.visibilityState !== 'hidden' || !Number.isFinite(ms)) return;
    this.#hiddenTimer = setTimeout(() => {
      if (document.visibilityState === 'hidden') this.#goIdle();
    }, ms);
  }
}

/**
 * When a chosen status clears by itself: at `until` (a Date or an RFC 3339
 * string) or after `duration_s` seconds (60..31,622,400), never both.
 * @typedef {{until?: Date|string, duration_s?: number}} Expiry
 */

function expiryFields(expiry) {
  if (!expiry) return {};
  if (expiry.until) return { until: expiry.until instanceof Date ? expiry.until.toISOString() : expiry.until };
  if (expiry.duration_s) return { duration_s: expiry.duration_s };
  return {};
}

/**
 * The claims of a JWT, unverified (the hub verifies): only to know when it
 * expires. Null when it is not a JWT.
 * @param {string} token
 * @returns {{exp?: number, iat?: number}|null}
 */
function tokenClaims(token) {
  try {
    const part = String(token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

function tokenExpired(token) {
  const claims = tokenClaims(token);
  return !!claims && typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now();
}

function byName(a, b) {
  return a.name.localeCompare(b.name, undefined, { sensitivity: 'base' });
}

function chunks(list) {
  const out = [];
  for (let i = 0; i < list.length; i += MAX_USERS_PER_COMMAND) out.push(list.slice(i, i + MAX_USERS_PER_COMMAND));
  return out;
}
