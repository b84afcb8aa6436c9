// Type declarations of presence-client.js, the browser client of presence
// protocol v1. Checked by `tsc --noEmit` (see types-test.ts).

/** The WebSocket subprotocol this client speaks. */
export declare const SUBPROTOCOL: 'presence.v1';

/**
 * Close code of a refused or expired token. The client reconnects after it
 * only with a new token from `getToken()`, never with the refused one.
 */
export declare const CLOSE_UNAUTHORIZED: 4001;

/** A protocol error code, or one of the client's own. */
export type ErrorCode =
  | 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict'
  | 'over_limit' | 'rate_limited' | 'unavailable' | 'internal'
  | 'disconnected' | 'timeout';

/** The error a command's promise rejects with. */
export declare class PresenceError extends Error {
  constructor(code: string, message: string);
  readonly name: 'PresenceError';
  /** A protocol error code, or `disconnected` / `timeout`. */
  code: ErrorCode | string;
}

export type Presence = 'online' | 'away' | 'busy' | 'offline';
export type Status = Presence | 'disabled';

/** One user's presence, as in `presence` events and snapshots. */
export interface Entry {
  id: string;
  status: Status;
  text: string;
  /** The custom status id it came from. */
  custom: string | null;
  /** RFC 3339. */
  since: string | null;
  /** RFC 3339. */
  last_seen: string | null;
  /** RFC 3339: when the chosen status clears by itself. */
  until: string | null;
  /** Why the status last changed; null for a user never seen. */
  reason: Reason | null;
  [field: string]: unknown;
}

/** Why a user's status last changed. */
export type Reason =
  | 'connect' | 'disconnect' | 'heartbeat' | 'idle' | 'active'
  | 'manual' | 'expired' | 'catalog' | 'node_lost';

/**
 * When a chosen status clears by itself: at `until` (a Date or an RFC 3339
 * string) or after `duration_s` seconds (60..31,622,400), never both.
 */
export type Expiry = { until: Date | string; duration_s?: never } | { duration_s: number; until?: never };

/** One change of a user's effective status, in `history`. */
export interface HistoryItem {
  /** RFC 3339. */
  at: string;
  status: Presence;
  previous: Presence;
  text: string;
  reason: Reason;
}

export interface Service {
  state: 'enabled' | 'disabled';
  reason: 'connection_limit' | 'admin' | null;
  connections: number;
  /** Null on the enterprise edition. */
  limit: number | null;
  edition?: string;
}

export interface CustomStatus {
  id: string;
  name: string;
  presence: Presence;
  /** Default lifetime of a pick, in seconds; null: never ends. */
  duration_s: number | null;
  [field: string]: unknown;
}

export interface User {
  id: string;
  name: string;
  admin: boolean;
}

export interface Self {
  status: Status;
  manual: Presence;
  text: string;
  custom: string | null;
  until: string | null;
  reason: Reason | null;
  [field: string]: unknown;
}

export interface Welcome {
  type: 'welcome';
  id?: string;
  session: string;
  user: User;
  service: Service;
  self: Self;
  statuses: CustomStatus[];
  heartbeat_ms: number;
  idle_limit_ms: number;
  [field: string]: unknown;
}

/** A `result` frame; which fields it carries depends on the command. */
export interface Result {
  type: 'result' | 'pong';
  id?: string;
  ok?: boolean;
  users?: Entry[];
  self?: Self;
  service?: Service;
  status?: CustomStatus;
  items?: CustomStatus[];
  total?: number;
  /** refresh: RFC 3339 end of the session. */
  expires?: string;
  [field: string]: unknown;
}

export interface ClientOptions {
  /** WebSocket URL; default `ws(s)://<this host>/ws`. */
  url?: string;
  /**
   * Returns a JWT; called before every connect and a little before the
   * token's `exp`, so it should fetch a fresh one. Required unless `token`.
   */
  getToken?: () => string | Promise<string>;
  /** A fixed JWT (no refresh, no reconnect after 4001), or a function, as `getToken`. */
  token?: string | (() => string | Promise<string>);
  /** What `hello` says the client is; default `web/1.0`. */
  client?: string;
  /** Watch input and visibility and send `activity` / `idle`; default true. */
  trackActivity?: boolean;
  /** How long a hidden page waits before `idle`; default 60000; Infinity: never. */
  hiddenIdleMs?: number;
  /** Least time between two `activity` frames while active; default 30000. */
  activityThrottleMs?: number;
  /** A command with no reply by then rejects with `timeout`; default 15000. */
  commandTimeoutMs?: number;
  /** How long before `exp` to refresh; default a fifth of the lifetime, 1..60 s. */
  refreshMarginMs?: number;
  /** First reconnect delay ceiling; default 500. */
  backoffMinMs?: number;
  /** Largest reconnect delay; default 20000. */
  backoffMaxMs?: number;
  /** The WebSocket constructor (tests). */
  WebSocket?: typeof WebSocket;
}

export interface PresenceEvent {
  users: Entry[];
  /** True for the snapshot that answers a `subscribe` (also after a reconnect). */
  snapshot: boolean;
  /** True for the snapshot of `subscribe {all: true}`: only users not offline. */
  all: boolean;
}

export interface CloseEvent {
  code: number;
  reason: string;
  /** Null when the client gave up: `close()`, or a 4001 with no new token. */
  reconnectInMs: number | null;
}

export interface Notice {
  level: 'info' | 'warning' | 'critical';
  code: string;
  message: string;
  connections: number;
  limit: number | null;
}

export interface Events {
  welcome: Welcome;
  presence: PresenceEvent;
  service: Service;
  statuses: { op: 'created' | 'updated' | 'deleted'; status: CustomStatus };
  notice: Notice;
  close: CloseEvent;
  error: PresenceError;
  /** The hub took a new token: the session now ends at `expires`. */
  refresh: { expires: Date | null };
}

export interface AdminAPI {
  stats(): Promise<Result>;
  setService(enabled: boolean): Promise<Result>;
  listStatuses(q?: { query?: string; offset?: number; limit?: number }): Promise<Result & { items: CustomStatus[]; total: number }>;
  createStatus(s: { name: string; presence: Presence; duration_s?: number | null }): Promise<Result & { status: CustomStatus }>;
  updateStatus(s: { custom: string; name: string; presence: Presence; duration_s?: number | null }): Promise<Result & { status: CustomStatus }>;
  deleteStatus(custom: string): Promise<Result>;
  settings(idleLimitS: number): Promise<Result>;
}

/** A connection to the presence hub that survives network trouble. */
export declare class PresenceClient {
  constructor(options: ClientOptions);
  /** Whether the socket is open and the hub has welcomed this client. */
  readonly connected: boolean;
  welcome: Welcome | null;
  user: User | null;
  service: Service | null;
  self: Self | null;
  statuses: CustomStatus[];

  /** Listens to an event; returns a function that stops listening. */
  on<K extends keyof Events>(type: K, fn: (payload: Events[K]) => void): () => void;
  off<K extends keyof Events>(type: K, fn: (payload: Events[K]) => void): void;

  /** Opens the connection; resolves with the first welcome. */
  connect(): Promise<Welcome>;
  /** Closes for good: no reconnect; pending commands reject with `disconnected`. */
  close(): void;
  /** Skips the rest of the backoff delay. */
  reconnectNow(): void;
  /** Gets a new token from `getToken()` and hands it to the hub now. */
  refresh(): Promise<Result>;

  command(type: string, fields?: Record<string, unknown>): Promise<Result>;
  ping(): Promise<Result>;
  setStatus(status: Presence, text?: string, expiry?: Expiry): Promise<Result>;
  /** Without expiry, the custom status's default duration applies, if any. */
  setCustomStatus(custom: string, expiry?: Expiry): Promise<Result>;
  /** Before closing (signing out): offline at once, not after the grace. */
  bye(): Promise<Result>;
  /** Recent status changes, newest first; another user's needs the admin role. */
  history(q?: { user?: string; limit?: number }): Promise<HistoryItem[]>;
  setPrefs(prefs: { idle_limit_s?: number; auto_away?: boolean }): Promise<Result>;
  subscribe(what: { users: string[] } | { all: true }): Promise<Result>;
  unsubscribe(what: { users: string[] } | { all: true }): Promise<Result>;
  query(users: string[]): Promise<Entry[]>;
  readonly admin: AdminAPI;
}
