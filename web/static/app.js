// app.js: the presenced page: sign-in, the live workspace and, for admins,
// the console (Administration > Workspace > User Status).
//
// Every name and text that comes from the server or a user goes into the DOM
// through textContent or attributes, never innerHTML.

import { PresenceClient, CLOSE_UNAUTHORIZED } from './presence-client.js';

const PRESENCES = ['online', 'away', 'busy', 'offline'];
const LABELS = { online: 'Online', away: 'Away', busy: 'Busy', offline: 'Offline', disabled: 'Disabled' };
const RANK = { online: 0, busy: 1, away: 2, offline: 3, disabled: 4 };
const SESSION_KEY = 'presenced.session';
const KNOWN_KEY = 'presenced.members';
const KNOWN_MAX = 500;
const STATS_EVERY_MS = 5000;
const PAGE = 50;

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** @type {PresenceClient|null} */
let client = null;
/** What the page knows: the signed-in user, the service, and everyone's presence. */
const state = {
  me: null, // {id, name, admin}
  self: { status: 'online', manual: 'online', text: '', custom: null, until: null },
  service: { state: 'enabled', reason: null, connections: 0, limit: null, edition: '' },
  members: new Map(), // id -> entry
  devMode: false,
  // The first `all` snapshot is reconciled by start(); later ones (after a
  // reconnect) by onPresence.
  reconcileOnSnapshot: false,
  knownSaved: '',
};

// ---------------------------------------------------------------- helpers

/**
 * Creates an element. Children are nodes or strings (as text nodes).
 * @param {string} tag
 * @param {Record<string, any>} [attrs] `class`, `text`, and attributes
 * @param {...(Node|string)} children
 */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) node.append(c);
  return node;
}

function show(node, on) {
  node.hidden = !on;
}

// Avatar colours stay clear of the status colours (green, amber, red, grey).
const AVATAR_COLOURS = ['#6366f1', '#8b5cf6', '#0284c7', '#db2777', '#475569', '#0e7490', '#9333ea', '#2563eb', '#be185d', '#4f46e5'];

function avatarColour(id) {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return AVATAR_COLOURS[h % AVATAR_COLOURS.length];
}

function initials(name) {
  const parts = name.trim().split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : [...(parts[0] || '?')][0];
  return letters.toUpperCase();
}

function paintAvatar(avatar, id, name) {
  avatar.style.setProperty('--avatar', avatarColour(id));
  $('.initials', avatar).textContent = initials(name || id);
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

function ago(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((t - Date.now()) / 1000);
  if (s > -45) return 'just now';
  const m = Math.round(s / 60);
  if (m > -60) return rtf.format(m, 'minute');
  const h = Math.round(m / 60);
  if (h > -24) return rtf.format(h, 'hour');
  const d = Math.round(h / 24);
  if (d > -7) return rtf.format(d, 'day');
  return new Date(t).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayClock = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
const dateClock = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

/** "until 15:30", "until Tue 15:30" within a week, else with the date. */
function untilText(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '';
  const now = new Date();
  if (t.toDateString() === now.toDateString()) return `until ${clock.format(t)}`;
  if (t - now < 6 * 86400e3) return `until ${dayClock.format(t)}`;
  return `until ${dateClock.format(t)}`;
}

/** "30 min", "1 h", "1 h 30 min", "2 days". */
function durationText(s) {
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) {
    const h = Math.floor(s / 3600);
    const m = Math.round((s % 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.round(s / 86400);
  return `${d} ${d === 1 ? 'day' : 'days'}`;
}

// Why a status changed, in words, by the protocol's reasons.
const REASON_WORDS = {
  connect: 'connected',
  disconnect: 'closed the app',
  heartbeat: 'connection lost (no heartbeat)',
  idle: 'idle, no activity for a while',
  active: 'active again',
  manual: 'set by hand',
  expired: 'the status ran out',
  catalog: 'an admin changed the custom status',
  node_lost: 'the server holding the connection went down',
};

/** "went away: idle, …" for one history item. */
function historyText(it) {
  const what = {
    online: it.previous === 'offline' ? 'came online' : 'back online',
    away: 'went away',
    busy: 'busy',
    offline: 'went offline',
  }[it.status] || it.status;
  return `${what}: ${REASON_WORDS[it.reason] || it.reason}`;
}

function scrollBehavior() {
  return matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth';
}

function disabled() {
  return state.service.state === 'disabled';
}

/** The status to show for an entry: `disabled` while the service is off. */
function shown(status) {
  return disabled() ? 'disabled' : status || 'offline';
}

function toast(message, kind = 'info') {
  const t = el('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : null, text: message });
  const box = $('#toasts');
  box.append(t);
  while (box.children.length > 3) box.firstChild.remove();
  setTimeout(() => t.classList.add('toast-out'), 4200);
  setTimeout(() => t.remove(), 4600);
}

function loadJSON(storage, key, fallback) {
  try {
    return JSON.parse(storage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function saveJSON(storage, key, value) {
  try {
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the page works without it.
  }
}

// ---------------------------------------------------------------- views

function setView(view, splashText) {
  document.body.dataset.view = view;
  show($('#splash'), view === 'loading');
  show($('#signin'), view === 'signin');
  show($('#app'), view === 'app');
  if (splashText) $('#splash-text').textContent = splashText;
}

// ---------------------------------------------------------------- sign-in

async function probeDev() {
  try {
    const res = await fetch('/dev/token', { cache: 'no-store' });
    return res.status !== 404;
  } catch {
    return false;
  }
}

async function devToken(user, admin) {
  const q = new URLSearchParams({ user });
  if (admin) q.set('admin', '1');
  const res = await fetch(`/dev/token?${q}`, { cache: 'no-store' });
  if (!res.ok) throw new Error(`the server refused a token for ${user} (HTTP ${res.status})`);
  const body = await res.json();
  if (!body.token) throw new Error('the server answered without a token');
  return body.token;
}

async function showSignIn(error) {
  if (client) {
    client.close();
    client = null;
  }
  setView('loading', 'Loading…');
  state.devMode = await probeDev();
  setView('signin');
  const err = $('#signin-error');
  err.textContent = error || '';
  show(err, !!error);
  showForm(state.devMode ? 'dev' : 'token');
}

function showForm(which) {
  show($('#dev-form'), which === 'dev');
  show($('#token-form'), which === 'token');
  show($('#show-dev-form'), state.devMode);
  const last = loadJSON(localStorage, 'presenced.lastUser', '');
  if (which === 'dev' && last && !$('#dev-user').value) $('#dev-user').value = last;
  (which === 'dev' ? $('#dev-user') : $('#token-input')).focus();
}

function wireSignIn() {
  $('#dev-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const user = $('#dev-user').value.trim();
    if (!user) return;
    saveJSON(localStorage, 'presenced.lastUser', user);
    await start({ mode: 'dev', user, admin: $('#dev-admin').checked });
  });
  $('#token-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = $('#token-input').value.trim();
    if (token) await start({ mode: 'token', token });
  });
  $('#show-token-form').addEventListener('click', () => showForm('token'));
  $('#show-dev-form').addEventListener('click', () => showForm('dev'));
  $('#sign-out').addEventListener('click', async () => {
    saveJSON(sessionStorage, SESSION_KEY, null);
    // bye makes others see us offline at once, not after the server's
    // reconnect grace; a page that just closes keeps its grace.
    const c = client;
    if (c?.connected) await Promise.race([c.bye().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    showSignIn();
  });
}

/** A `#token=JWT` in the address signs in with it, and leaves the address. */
function takeHashToken() {
  const m = /^#token=(.+)$/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return decodeURIComponent(m[1]);
}

// ---------------------------------------------------------------- session

/**
 * Connects with a session: {mode: 'token', token} or {mode: 'dev', user, admin}
 * (a dev session fetches a fresh token before every connect, so it outlives
 * server restarts and token expiry).
 */
async function start(session) {
  if (client) client.close();
  setView('loading', 'Connecting…');
  resetState();
  let token = session.token;
  if (session.mode === 'dev') {
    // The first token up front, so a refusal shows on the form; later
    // reconnects fetch a fresh one.
    let first;
    try {
      first = await devToken(session.user, session.admin);
    } catch (err) {
      showSignIn(`Sign-in failed: ${err.message}`);
      return;
    }
    token = () => (first ? Promise.resolve(first) : devToken(session.user, session.admin)).finally(() => { first = null; });
  }
  // A dev session can always get a new token (refresh, reconnect after
  // 4001); a pasted token is used as is until it expires.
  const c = new PresenceClient(typeof token === 'function' ? { getToken: token } : { token });
  client = c;
  c.on('welcome', (w) => client === c && onWelcome(w));
  c.on('presence', (p) => client === c && onPresence(p));
  c.on('service', (s) => client === c && onService(s));
  c.on('statuses', (ev) => client === c && onStatuses(ev));
  c.on('notice', (n) => client === c && onNotice(n));
  c.on('close', (ev) => client === c && onClose(ev));
  try {
    await c.connect();
  } catch (err) {
    if (client !== c) return;
    saveJSON(sessionStorage, SESSION_KEY, null);
    showSignIn(`Sign-in failed: ${err.message}`);
    return;
  }
  if (client !== c) return;
  saveJSON(sessionStorage, SESSION_KEY, session);
  setView('app');
  try {
    await c.subscribe({ all: true });
    await c.subscribe({ users: [state.me.id] });
    await reconcile();
  } catch (err) {
    if (err.code !== 'disconnected') toast(`Could not load members: ${err.message}`, 'error');
  }
}

function resetState() {
  state.me = null;
  state.members.clear();
  state.reconcileOnSnapshot = false;
  clearInterval(admin.statsTimer);
  $('#member-list').replaceChildren();
  $('#notices').replaceChildren();
  $('#activity-list').replaceChildren();
  admin.items = [];
  closeMenu(false);
  closePanel(false);
  closeHistory(false);
}

function onWelcome(w) {
  state.me = w.user;
  state.self = { ...w.self };
  state.service = { ...w.service };
  document.body.dataset.admin = w.user.admin ? 'true' : 'false';
  setConnection('open');
  show($('[data-banner="connection"]'), false);
  renderMe();
  renderMenuOptions();
  renderService();
  renderMembers();
  show($('#nav-admin'), w.user.admin);
  show($('#console'), w.user.admin);
  if (w.user.admin) admin.open();
}

function onClose(ev) {
  if (ev.reconnectInMs === null) {
    if (ev.code === CLOSE_UNAUTHORIZED && document.body.dataset.view === 'app') {
      saveJSON(sessionStorage, SESSION_KEY, null);
      showSignIn(`You were signed out: ${ev.reason || 'the token was refused'}. Sign in again.`);
    }
    return;
  }
  if (document.body.dataset.view !== 'app') {
    setView('loading', `Cannot reach the server (${ev.reason || `code ${ev.code}`}). Retrying…`);
    return;
  }
  setConnection('reconnecting');
  const until = Date.now() + ev.reconnectInMs;
  const banner = $('[data-banner="connection"]');
  show(banner, true);
  const tick = () => {
    if (banner.hidden || client?.connected) return;
    const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    $('#conn-banner-text').textContent = s > 0
      ? `Connection lost. Reconnecting in ${s} s…`
      : 'Connection lost. Reconnecting…';
    if (s > 0) setTimeout(tick, 500);
  };
  tick();
}

function setConnection(s) {
  const box = $('#conn-state');
  box.dataset.state = s;
  $('#conn-text').textContent = s === 'open' ? 'Connected' : 'Reconnecting…';
}

// ---------------------------------------------------------------- presence

/** Applies presence entries; `snapshot.all` also triggers a reconcile. */
function onPresence({ users, snapshot, all }) {
  if (!snapshot) for (const u of users) logActivity(state.members.get(u.id), u);
  for (const u of users) upsert(u);
  renderMembers();
  if (state.me?.admin) admin.refreshStatsSoon();
  if (snapshot && all && state.reconcileOnSnapshot) reconcile().catch(() => {});
}

function upsert(u) {
  const prev = state.members.get(u.id);
  state.members.set(u.id, { ...prev, ...u });
  if (state.me && u.id === state.me.id && u.status !== 'disabled') {
    state.self = { ...state.self, status: u.status, text: u.text ?? '', custom: u.custom ?? null, until: u.until ?? null };
    renderMe();
  }
}

/**
 * The `all` snapshot lists only users who are not offline. Users the page
 * knew (from this session or earlier ones) who are missing from it went
 * offline meanwhile: ask for their state, with last seen.
 */
async function reconcile() {
  state.reconcileOnSnapshot = true;
  const known = new Set([...state.members.keys(), ...loadJSON(localStorage, KNOWN_KEY, [])]);
  const ids = [...known].filter((id) => typeof id === 'string' && id);
  if (!ids.length || !client?.connected) return;
  const entries = await client.query(ids);
  for (const e of entries) {
    // A user this hub has never seen: not a member, as far as we know.
    if (e.status === 'offline' && !e.since && !e.last_seen) state.members.delete(e.id);
    else upsert(e);
  }
  renderMembers();
}

const ACTIVITY_MAX = 12;

/** Adds a line to "Recent activity" for a change worth telling. */
function logActivity(prev, next) {
  // While presence is off, and in the snapshot that ends it, nothing changed
  // worth telling.
  if (next.status === 'disabled' || prev?.status === 'disabled' || disabled()) return;
  const name = next.id === state.me?.id ? 'You' : next.id;
  const textChanged = (prev?.text || '') !== (next.text || '');
  let what;
  if (!prev || prev.status === 'offline') {
    if (next.status === 'offline') return;
    what = next.status === 'online' ? 'came online' : `came online as ${LABELS[next.status]}`;
  } else if (next.status === 'offline') {
    what = 'went offline';
  } else if (prev.status !== next.status) {
    what = `is now ${LABELS[next.status]}`;
  } else if (textChanged) {
    what = next.text ? 'changed the status text' : 'cleared the status text';
  } else {
    return;
  }
  const line = el('li', { class: 'activity-item' },
    el('span', { class: 'dot dot-static', 'data-presence': next.status, 'aria-hidden': 'true' }),
    el('span', { class: 'activity-text' },
      el('b', { text: name }), ` ${what}`,
      next.text && next.status !== 'offline' ? el('span', { text: ` · ${next.text}` }) : ''),
    el('time', { class: 'activity-time', datetime: new Date().toISOString(),
      text: new Date().toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) }));
  const list = $('#activity-list');
  list.prepend(line);
  while (list.children.length > ACTIVITY_MAX) list.lastChild.remove();
}

function rememberMembers() {
  const ids = JSON.stringify([...state.members.keys()].slice(0, KNOWN_MAX));
  if (ids === state.knownSaved) return;
  state.knownSaved = ids;
  saveJSON(localStorage, KNOWN_KEY, JSON.parse(ids));
}

function onService(svc) {
  const was = state.service.state;
  state.service = { ...state.service, ...svc };
  renderService();
  renderMe();
  renderMembers();
  if (state.me?.admin) admin.refreshStats();
  if (was === 'disabled' && svc.state === 'enabled') {
    toast('Presence is back on.');
    reconcile().catch(() => {});
  }
}

function onStatuses({ op, status }) {
  renderMenuOptions();
  if (state.me?.admin) admin.reloadList();
  if (op === 'deleted' && state.self.custom === status.id) {
    state.self = { ...state.self, custom: null, text: '' };
    renderMe();
  }
}

// ---------------------------------------------------------------- rendering

function renderService() {
  const off = disabled();
  document.body.dataset.presence = off ? 'disabled' : 'enabled';
  const banner = $('[data-banner="presence-disabled"]');
  show(banner, off);
  show($('#menu-disabled-note'), off);
  if (off) {
    const { reason, limit } = state.service;
    let title = 'Presence is disabled.';
    let detail = '';
    if (reason === 'connection_limit') {
      title = limit != null
        ? `Presence is disabled: the workspace exceeded ${limit} connections.`
        : 'Presence is disabled: the workspace exceeded its connection limit.';
      detail = state.me?.admin
        ? `Statuses show again when you turn the service back on, which works once fewer than ${limit ?? 'the limit of'} connections are open.`
        : 'Everyone shows as disabled until an administrator turns it back on.';
    } else if (reason === 'admin') {
      title = 'Presence is disabled by an administrator.';
      detail = state.me?.admin
        ? 'Turn it back on in the console.'
        : 'Everyone shows as disabled until it is turned back on.';
    }
    $('#banner-title').textContent = title;
    $('#banner-detail').textContent = detail;
  }
  show($('#banner-console'), off && !!state.me?.admin);
  $('#edition-badge').textContent = state.service.edition ? `${state.service.edition} edition` : '';
  admin.renderService();
}

function renderMe() {
  if (!state.me) return;
  const status = shown(state.self.status);
  const btn = $('#self-button');
  btn.dataset.status = status;
  $('.dot', btn).dataset.status = status;
  paintAvatar($('#self-avatar'), state.me.id, state.me.name);
  $('#self-name').textContent = state.me.name || state.me.id;
  $('#self-label').textContent = LABELS[status];
  const text = disabled() ? '' : state.self.text || '';
  $('#self-text').textContent = text;
  btn.setAttribute('aria-label',
    `${state.me.name || state.me.id}: ${LABELS[status]}${text ? `, ${text}` : ''}. Change your status`);
  // The menu marks the manual choice, or the custom status it came from.
  for (const b of $$('[data-status-option]')) {
    b.setAttribute('aria-pressed', String(!state.self.custom && b.dataset.statusOption === (state.self.manual || 'online')));
  }
  for (const b of $$('[data-custom-option]')) {
    b.setAttribute('aria-pressed', String(state.self.custom === b.dataset.customOption));
  }
  const input = $('#status-text');
  if (document.activeElement !== input) input.value = state.self.custom ? '' : state.self.text || '';
  const note = $('#status-until-note');
  note.textContent = state.self.until ? `Your status clears by itself, ${untilText(state.self.until)}.` : '';
  show(note, !!state.self.until);
}

function renderMenuOptions() {
  const box = $('#custom-options');
  const list = client?.statuses || [];
  box.replaceChildren(...list.map((s) => el('button', {
    type: 'button',
    class: 'menu-option',
    'data-custom-option': s.id,
    'aria-pressed': String(state.self.custom === s.id),
  },
  el('span', { class: 'dot dot-static', 'data-presence': s.presence, 'aria-hidden': 'true' }),
  el('span', { class: 'option-text' },
    el('span', { class: 'option-name', text: s.name }),
    el('span', { class: 'option-hint', text: (LABELS[s.presence] || s.presence) + (s.duration_s ? ` · clears after ${durationText(s.duration_s)}` : '') })))));
  show($('#custom-empty'), list.length === 0);
}

function memberRow(id) {
  const row = el('li', { class: 'member', 'data-user': id },
    el('span', { class: 'avatar', 'aria-hidden': 'true' },
      el('span', { class: 'initials' }),
      el('span', { class: 'dot', 'data-status': 'offline' })),
    el('div', { class: 'member-main' },
      el('div', { class: 'member-name' },
        el('span', { class: 'name' }),
        el('span', { class: 'you', text: ' (you)', hidden: true })),
      el('div', { class: 'member-sub' },
        el('span', { class: 'status-label' }),
        el('span', { class: 'status-text', 'data-status-text': '' }),
        el('span', { class: 'until' }),
        el('span', { class: 'last-seen' }))));
  paintAvatar($('.avatar', row), id, id === state.me?.id ? state.me.name : id);
  if (state.me?.admin) {
    // Admins open the member's history from the row.
    row.tabIndex = 0;
    row.setAttribute('role', 'button');
    row.setAttribute('aria-label', `${id}: show history`);
  }
  return row;
}

function renderMembers() {
  const list = $('#member-list');
  const filter = $('#member-filter').value.trim().toLowerCase();
  const rows = new Map($$('[data-user]', list).map((r) => [r.dataset.user, r]));
  const entries = [...state.members.values()].sort((a, b) =>
    (RANK[a.status] ?? 5) - (RANK[b.status] ?? 5) || a.id.localeCompare(b.id));
  let online = 0;
  const ordered = [];
  for (const e of entries) {
    if (e.status !== 'offline') online++;
    let row = rows.get(e.id);
    rows.delete(e.id);
    if (!row) row = memberRow(e.id);
    updateRow(row, e);
    row.hidden = !!filter && !e.id.toLowerCase().includes(filter) && !(e.text || '').toLowerCase().includes(filter);
    ordered.push(row);
  }
  for (const stale of rows.values()) stale.remove();
  // Move only what is out of place, so focus and hover survive updates.
  ordered.forEach((row, i) => {
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
  });
  const total = entries.length;
  $('#members-count').textContent = disabled()
    ? `${total} ${total === 1 ? 'member' : 'members'} · presence disabled`
    : `${online} active · ${total} ${total === 1 ? 'member' : 'members'}`;
  show($('#members-empty'), total <= 1);
  rememberMembers();
}

function updateRow(row, e) {
  const status = shown(e.status);
  const isMe = e.id === state.me?.id;
  const dot = $('.dot', row);
  if (dot.dataset.status !== status) dot.dataset.status = status;
  row.dataset.presence = status;
  $('.name', row).textContent = isMe ? state.me.name || e.id : e.id;
  $('.you', row).hidden = !isMe;
  $('.status-label', row).textContent = LABELS[status] || status;
  const text = disabled() ? '' : e.text || '';
  const textEl = $('[data-status-text]', row);
  if (textEl.textContent !== text) textEl.textContent = text;
  // A status that clears by itself says when; offline, there is nothing to
  // clear that others could see.
  const until = status !== 'offline' && status !== 'disabled' ? e.until || null : null;
  if (until) row.dataset.statusUntil = until;
  else delete row.dataset.statusUntil;
  const untilEl = $('.until', row);
  const untilWords = until ? untilText(until) : '';
  if (untilEl.textContent !== untilWords) untilEl.textContent = untilWords;
  if (until) untilEl.title = new Date(until).toLocaleString();
  else untilEl.removeAttribute('title');
  const seen = $('.last-seen', row);
  if (status === 'offline' && e.last_seen) {
    seen.textContent = `Last seen ${ago(e.last_seen)}`;
    seen.title = new Date(e.last_seen).toLocaleString();
  } else {
    seen.textContent = '';
    seen.removeAttribute('title');
  }
}

// ---------------------------------------------------------------- status menu

/** The end of this day, or of this week (Monday 00:00), in local time. */
function endOf(kind) {
  const end = new Date();
  end.setHours(24, 0, 0, 0); // next midnight
  if (kind === 'week') end.setDate(end.getDate() + ((8 - end.getDay()) % 7)); // on to Monday
  return end;
}

/**
 * Aims "Today" and "This week" at the end of this day and week, in seconds
 * from now like the other choices.
 */
function aimClearAfter() {
  for (const opt of $$('#status-duration option[data-until]')) {
    opt.value = String(Math.max(60, Math.round((endOf(opt.dataset.until) - Date.now()) / 1000)));
  }
}

/**
 * When the chosen status clears, from the "clear after" choice: none for
 * never. A span is a duration on the server's clock; the end of the day or
 * week is a time; a span under a minute, shorter than any duration_s, can
 * only be a time.
 */
function clearAfter() {
  const opt = $('#status-duration').selectedOptions[0];
  if (opt?.dataset.until) return { until: endOf(opt.dataset.until) };
  const s = Number(opt?.value);
  if (!(s > 0)) return undefined;
  return s >= 60 ? { duration_s: s } : { until: new Date(Date.now() + s * 1000) };
}

function openMenu() {
  aimClearAfter();
  const menu = $('#status-menu');
  menu.hidden = false;
  $('#self-button').setAttribute('aria-expanded', 'true');
  const current = $('#status-menu [aria-pressed="true"]') || $('[data-status-option]');
  current.focus();
}

function closeMenu(restoreFocus = true) {
  const menu = $('#status-menu');
  if (menu.hidden) return;
  menu.hidden = true;
  $('#self-button').setAttribute('aria-expanded', 'false');
  if (restoreFocus) $('#self-button').focus();
}

async function pick(fn, what) {
  try {
    const res = await fn();
    if (res.self) state.self = { ...res.self };
    renderMe();
    closeMenu();
  } catch (err) {
    toast(`Could not set ${what}: ${err.message}`, 'error');
  }
}

function wireMenu() {
  const btn = $('#self-button');
  const menu = $('#status-menu');
  btn.addEventListener('click', () => (menu.hidden ? openMenu() : closeMenu()));
  menu.addEventListener('click', (e) => {
    const opt = e.target.closest('[data-status-option]');
    if (opt) {
      const status = opt.dataset.statusOption;
      pick(() => client.setStatus(status, $('#status-text').value.trim(), clearAfter()), 'your status');
      return;
    }
    const custom = e.target.closest('[data-custom-option]');
    if (custom) pick(() => client.setCustomStatus(custom.dataset.customOption, clearAfter()), 'your status');
  });
  $('#status-text-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const manual = state.self.custom ? 'online' : state.self.manual || 'online';
    pick(() => client.setStatus(manual, $('#status-text').value.trim(), clearAfter()), 'your status text');
  });
  // Arrow keys move between the options; Escape closes.
  menu.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      closeMenu();
      return;
    }
    if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key) || e.target.matches('input')) return;
    const opts = $$('.menu-option', menu);
    const i = opts.indexOf(document.activeElement);
    let next = i;
    if (e.key === 'ArrowDown') next = (i + 1) % opts.length;
    if (e.key === 'ArrowUp') next = (i - 1 + opts.length) % opts.length;
    if (e.key === 'Home') next = 0;
    if (e.key === 'End') next = opts.length - 1;
    e.preventDefault();
    opts[next]?.focus();
  });
  document.addEventListener('pointerdown', (e) => {
    if (!menu.hidden && !menu.contains(e.target) && !btn.contains(e.target)) closeMenu(false);
  });
  document.addEventListener('focusin', (e) => {
    if (!menu.hidden && !menu.contains(e.target) && !btn.contains(e.target)) closeMenu(false);
  });
}

// ---------------------------------------------------------------- admin console

const admin = {
  stats: null,
  statsTimer: null,
  statsSoon: null,
  query: '',
  items: [],
  total: 0,
  listSeq: 0,
  searchTimer: null,
  editing: null, // custom status being edited, or null when creating
  opener: null,

  /** Called on every welcome: the catalog may have changed while away. */
  open() {
    this.reloadList(true);
    this.refreshStats();
    clearInterval(this.statsTimer);
    this.statsTimer = setInterval(() => {
      if (document.visibilityState === 'visible' && client?.connected) this.refreshStats();
    }, STATS_EVERY_MS);
  },

  // Presence changes hint that connections changed: refresh, at most once a second.
  refreshStatsSoon() {
    if (this.statsSoon) return;
    this.statsSoon = setTimeout(() => {
      this.statsSoon = null;
      this.refreshStats();
    }, 1000);
  },

  async refreshStats() {
    if (!client?.connected || !state.me?.admin) return;
    try {
      this.stats = await client.admin.stats();
      if (this.stats.service) state.service = { ...state.service, ...this.stats.service };
      this.renderService();
    } catch (err) {
      if (err.code !== 'disconnected') console.warn('admin.stats:', err);
    }
  },

  renderService() {
    if (!state.me?.admin) return;
    const svc = state.service;
    const st = this.stats || {};
    const on = svc.state !== 'disabled';
    const toggle = $('#service-toggle');
    if (!toggle.disabled) toggle.checked = on;
    toggle.setAttribute('aria-checked', String(toggle.checked));
    $('#service-state').textContent = on ? 'On' : 'Off';
    const connections = st.connections ?? svc.connections;
    const limit = 'limit' in st ? st.limit : svc.limit;
    $('#stat-connections').textContent = connections ?? '–';
    $('#stat-limit').textContent = limit == null ? 'None' : String(limit);
    $('#stat-edition').textContent = st.edition || svc.edition || '–';
    $('#stat-peak').textContent = st.peak ?? '–';
    const meter = $('#meter');
    show(meter, connections != null);
    show($('.meter-bar', meter), !!limit);
    const online = st.users_online != null
      ? ` · ${st.users_online} ${st.users_online === 1 ? 'person' : 'people'} online` : '';
    if (limit) {
      const pct = Math.min(100, Math.round((connections / limit) * 100));
      $('#meter-fill').style.width = `${pct}%`;
      meter.dataset.level = connections > limit ? 'over' : pct >= 80 ? 'high' : 'ok';
      $('#meter-text').textContent = `${connections} of ${limit} connections in use (${pct}%)${online}`;
    } else {
      $('#meter-text').textContent = `${connections} connections, no limit on this edition${online}`;
    }
  },

  async toggleService(enabled) {
    const toggle = $('#service-toggle');
    const msg = $('[data-admin="service-message"]');
    show(msg, false);
    toggle.disabled = true;
    try {
      const res = await client.admin.setService(enabled);
      if (res.service) state.service = { ...state.service, ...res.service };
      toast(enabled ? 'Presence service turned on.' : 'Presence service turned off.');
    } catch (err) {
      msg.replaceChildren(
        el('strong', { text: enabled ? 'Presence stays off. ' : 'Presence stays on. ' }),
        document.createTextNode(err.message));
      msg.dataset.code = err.code;
      show(msg, true);
    } finally {
      toggle.disabled = false;
      renderService();
      renderMe();
      renderMembers();
      this.refreshStats();
    }
  },

  async reloadList(keep = false) {
    if (!client?.connected || !state.me?.admin) return;
    const seq = ++this.listSeq;
    const limit = keep ? Math.min(100, Math.max(PAGE, this.items.length)) : PAGE;
    $('#status-rows').setAttribute('aria-busy', 'true');
    try {
      const res = await client.admin.listStatuses({ query: this.query, offset: 0, limit });
      if (seq !== this.listSeq) return;
      this.items = res.items || [];
      this.total = res.total ?? this.items.length;
      this.renderList();
    } catch (err) {
      if (seq === this.listSeq && err.code !== 'disconnected') toast(`Could not load custom statuses: ${err.message}`, 'error');
    } finally {
      if (seq === this.listSeq) $('#status-rows').setAttribute('aria-busy', 'false');
    }
  },

  async loadMore() {
    const seq = ++this.listSeq;
    try {
      const res = await client.admin.listStatuses({ query: this.query, offset: this.items.length, limit: PAGE });
      if (seq !== this.listSeq) return;
      this.items = [...this.items, ...(res.items || [])];
      this.total = res.total ?? this.items.length;
      this.renderList();
    } catch (err) {
      toast(`Could not load more: ${err.message}`, 'error');
    }
  },

  renderList() {
    const rows = this.items.map((s) => el('li', { class: 'status-row', 'data-custom': s.id },
      el('button', { type: 'button', class: 'status-open', 'aria-label': `Edit ${s.name}` },
        el('span', { class: 'status-name', text: s.name }),
        el('span', { class: 'chip', 'data-presence': s.presence },
          el('span', { class: 'dot dot-static', 'data-presence': s.presence, 'aria-hidden': 'true' }),
          el('span', { text: LABELS[s.presence] || s.presence })),
        s.duration_s ? el('span', { class: 'chip', text: `clears after ${durationText(s.duration_s)}` }) : '',
        el('span', { class: 'row-action', 'aria-hidden': 'true', text: 'Edit' }))));
    $('#status-rows').replaceChildren(...rows);
    const empty = $('#statuses-empty');
    empty.textContent = this.query
      ? `No custom status matches “${this.query}”.`
      : 'No custom statuses yet. Create one for people to pick, such as “In a meeting”.';
    show(empty, this.items.length === 0);
    $('#statuses-total').textContent = this.total
      ? `${this.items.length} of ${this.total} ${this.total === 1 ? 'status' : 'statuses'}`
      : '';
    show($('#statuses-more'), this.items.length < this.total);
  },

  openPanel(status, opener) {
    this.editing = status;
    this.opener = opener || document.activeElement;
    $('#panel-title').textContent = status ? 'Edit custom status' : 'New custom status';
    $('#status-save').textContent = status ? 'Save changes' : 'Create status';
    $('#status-name').value = status ? status.name : '';
    const presence = status ? status.presence : 'online';
    for (const r of $$('input[name="presence"]')) r.checked = r.value === presence;
    $('[data-admin="status-duration"]').value = status?.duration_s ?? '';
    show($('#danger-zone'), !!status);
    show($('#status-form-error'), false);
    this.preview();
    show($('#panel-backdrop'), true);
    show($('#status-panel'), true);
    document.body.classList.add('panel-open');
    $('#status-name').focus();
  },

  preview() {
    const presence = $('input[name="presence"]:checked')?.value || 'online';
    $('#preview-dot').dataset.presence = presence;
    $('#preview-label').textContent = LABELS[presence];
    $('#preview-text').textContent = $('#status-name').value.trim() || 'Status name';
  },

  formError(message) {
    const p = $('#status-form-error');
    p.textContent = message;
    show(p, true);
  },

  async save() {
    const name = $('#status-name').value.trim();
    const presence = $('input[name="presence"]:checked')?.value;
    if (!name) {
      this.formError('Give the status a name.');
      $('#status-name').focus();
      return;
    }
    if ([...name].length > 64) {
      this.formError('The name is longer than 64 characters.');
      return;
    }
    if (!PRESENCES.includes(presence)) {
      this.formError('Pick the presence this status shows.');
      return;
    }
    const raw = $('[data-admin="status-duration"]').value.trim();
    const duration_s = raw === '' ? null : Number(raw);
    if (duration_s !== null && !(Number.isInteger(duration_s) && duration_s >= 60 && duration_s <= 31622400)) {
      this.formError('“Clears after” is a whole number of seconds from 60 (a minute) to 31622400 (366 days), or empty for never.');
      $('[data-admin="status-duration"]').focus();
      return;
    }
    const save = $('#status-save');
    save.disabled = true;
    try {
      if (this.editing) {
        await client.admin.updateStatus({ custom: this.editing.id, name, presence, duration_s });
        toast(`Saved “${name}”.`);
      } else {
        await client.admin.createStatus({ name, presence, duration_s });
        toast(`Created “${name}”.`);
      }
      closePanel();
      this.reloadList(true);
    } catch (err) {
      this.formError(err.code === 'conflict' ? `A status named “${name}” already exists.` : err.message);
    } finally {
      save.disabled = false;
    }
  },

  async remove() {
    const s = this.editing;
    if (!s) return;
    const btn = $('#status-delete');
    btn.disabled = true;
    try {
      await client.admin.deleteStatus(s.id);
      toast(`Deleted “${s.name}”.`);
      closePanel();
      this.reloadList(true);
    } catch (err) {
      this.formError(err.message);
    } finally {
      btn.disabled = false;
    }
  },
};

function closePanel(restoreFocus = true) {
  const panel = $('#status-panel');
  if (panel.hidden) return;
  show(panel, false);
  show($('#panel-backdrop'), false);
  document.body.classList.remove('panel-open');
  const opener = admin.opener;
  admin.editing = null;
  admin.opener = null;
  if (restoreFocus && opener?.isConnected) opener.focus();
}

// ---------------------------------------------------------------- history

const historyView = { opener: null, seq: 0 };

/** Shows an admin why a member's status changed: their history, in words. */
async function openHistory(user, opener) {
  historyView.opener = opener || document.activeElement;
  const seq = ++historyView.seq;
  const list = $('[data-admin="history"]');
  list.replaceChildren();
  list.setAttribute('aria-busy', 'true');
  show($('#history-empty'), false);
  $('#history-title').textContent = `History of ${user}`;
  show($('#panel-backdrop'), true);
  show($('#history-panel'), true);
  document.body.classList.add('panel-open');
  $('#history-close').focus();
  try {
    const items = await client.history({ user, limit: 50 });
    if (seq !== historyView.seq) return;
    list.replaceChildren(...items.map((it) => el('li', {
      class: 'history-item', 'data-history-item': '', 'data-reason': it.reason, 'data-status': it.status,
    },
    el('span', { class: 'dot dot-static', 'data-presence': it.status, 'aria-hidden': 'true' }),
    el('span', { class: 'history-what', text: historyText(it) }),
    el('time', { class: 'history-time', datetime: it.at, title: new Date(it.at).toLocaleString(), text: clock.format(new Date(it.at)) }),
    it.text ? el('span', { class: 'history-why', text: it.text }) : '')));
    show($('#history-empty'), items.length === 0);
  } catch (err) {
    if (seq === historyView.seq) toast(`Could not load the history of ${user}: ${err.message}`, 'error');
  } finally {
    if (seq === historyView.seq) list.setAttribute('aria-busy', 'false');
  }
}

function closeHistory(restoreFocus = true) {
  const panel = $('#history-panel');
  if (panel.hidden) return;
  historyView.seq++;
  show(panel, false);
  show($('#panel-backdrop'), false);
  document.body.classList.remove('panel-open');
  const opener = historyView.opener;
  historyView.opener = null;
  if (restoreFocus && opener?.isConnected) opener.focus();
}

function wireHistory() {
  const open = (e) => {
    const row = e.target.closest('[data-user]');
    if (row && state.me?.admin) openHistory(row.dataset.user, row);
  };
  $('#member-list').addEventListener('click', open);
  $('#member-list').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      open(e);
    }
  });
  $('#history-close').addEventListener('click', () => closeHistory());
  $('#panel-backdrop').addEventListener('click', () => closeHistory());
  $('#history-panel').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      closeHistory();
    }
  });
}

function onNotice(n) {
  const item = el('li', { class: `notice notice-${n.level || 'info'}`, 'data-notice': n.code || '' },
    el('span', { class: 'notice-level', text: (n.level || 'info').toUpperCase() }),
    el('span', { class: 'notice-text', text: n.message || n.code || '' }),
    el('time', { class: 'notice-time', text: new Date().toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) }));
  const list = $('#notices');
  list.prepend(item);
  while (list.children.length > 5) list.lastChild.remove();
  toast(n.message || n.code, n.level === 'critical' ? 'error' : 'info');
  admin.refreshStats();
}

function wireConsole() {
  $('#service-toggle').addEventListener('change', (e) => admin.toggleService(e.target.checked));
  $('#status-search').addEventListener('input', (e) => {
    clearTimeout(admin.searchTimer);
    admin.searchTimer = setTimeout(() => {
      admin.query = e.target.value.trim();
      admin.reloadList();
    }, 150);
  });
  $('#statuses-more').addEventListener('click', () => admin.loadMore());
  $('#new-status').addEventListener('click', (e) => admin.openPanel(null, e.currentTarget));
  $('#status-rows').addEventListener('click', (e) => {
    const row = e.target.closest('[data-custom]');
    if (!row) return;
    const s = admin.items.find((x) => x.id === row.dataset.custom);
    if (s) admin.openPanel(s, $('.status-open', row));
  });
  $('#status-form').addEventListener('submit', (e) => {
    e.preventDefault();
    admin.save();
  });
  $('#status-form').addEventListener('input', () => admin.preview());
  $('#status-delete').addEventListener('click', () => admin.remove());
  $('#panel-cancel').addEventListener('click', () => closePanel());
  $('#panel-close').addEventListener('click', () => closePanel());
  $('#panel-backdrop').addEventListener('click', () => closePanel());
  $('#status-panel').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      closePanel();
      return;
    }
    if (e.key !== 'Tab') return;
    // Keep focus inside the modal panel.
    const focusable = $$('button, input, select, textarea, [tabindex]:not([tabindex="-1"])', e.currentTarget)
      .filter((n) => !n.disabled && n.offsetParent !== null);
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  });
  $('#banner-console').addEventListener('click', () => {
    $('#console').scrollIntoView({ behavior: scrollBehavior(), block: 'start' });
    $('#service-toggle').focus({ preventScroll: true });
  });
  $('#reconnect-now').addEventListener('click', () => client?.reconnectNow());
  $('#member-filter').addEventListener('input', () => renderMembers());
  for (const a of $$('.nav-link')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      const target = $(a.getAttribute('href'));
      target.scrollIntoView({ behavior: scrollBehavior(), block: 'start' });
      target.focus({ preventScroll: true });
    });
  }
}

// ---------------------------------------------------------------- start

async function boot() {
  wireSignIn();
  wireMenu();
  wireConsole();
  wireHistory();
  // Keep "last seen 3 minutes ago" current.
  setInterval(() => {
    if (document.body.dataset.view === 'app') renderMembers();
  }, 30000);
  window.addEventListener('hashchange', () => {
    const token = takeHashToken();
    if (token) start({ mode: 'token', token });
  });
  const token = takeHashToken();
  if (token) return start({ mode: 'token', token });
  const session = loadJSON(sessionStorage, SESSION_KEY, null);
  if (session) return start(session);
  return showSignIn();
}

boot();
