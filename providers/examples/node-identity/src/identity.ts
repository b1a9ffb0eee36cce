// The identity capability over an in-memory store, implementing the
// contract of the Go sdk.Identity interface (checked by the conformance
// kit): idempotent ensures keyed by name, username and slug; NOT_FOUND,
// INVALID and CONFLICT where the contract says; merged attributes; a
// paged event feed. Node runs handlers one at a time, so each method is
// atomic and parallel ensures of one key yield one object.
import { invalid, notFound, conflict } from "./errors";

export interface Group {
  id: string;
  name: string;
  attributes: Record<string, string>;
}

export interface User {
  id: string;
  username: string;
  name: string;
  email: string;
  active: boolean;
  attributes: Record<string, string>;
  groupIds: string[];
}

export interface OIDCApp {
  id: string;
  slug: string;
  name: string;
  groupId: string;
  clientId: string;
  clientSecret: string;
  issuerUrl: string;
}

export interface IdentityEvent {
  id: string;
  action: string;
  actor: string;
  clientIp: string;
  time: { seconds: number; nanos: number };
  attributes: Record<string, string>;
}

// Fields of UpdateUserRequest marked optional in the proto: present only
// when the oneof marker (_name, _email, _active) names them.
export interface UpdateUserRequest {
  id: string;
  name?: string;
  email?: string;
  active?: boolean;
  _name?: string;
  _email?: string;
  _active?: string;
  attributes: Record<string, string>;
  removeAttributes: string[];
}

export class IdentityStore {
  private seq = 0;
  private groups = new Map<string, Group>();
  private members = new Map<string, Set<string>>();
  private users = new Map<string, Omit<User, "groupIds">>();
  private apps = new Map<string, OIDCApp>();
  private flow: { id: string; slug: string } | undefined;
  private events: IdentityEvent[] = [];

  private nextId(kind: string): string {
    this.seq++;
    return `${kind}-${this.seq}`;
  }

  private event(action: string): void {
    const now = Date.now();
    this.events.push({
      id: String(this.events.length + 1),
      action,
      actor: "dezky",
      clientIp: "",
      time: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
      attributes: {},
    });
  }

  private user(id: string) {
    const u = this.users.get(id);
    if (!u) throw notFound(`user "${id}" not found`);
    return u;
  }

  private group(id: string): Group {
    const g = this.groups.get(id);
    if (!g) throw notFound(`group "${id}" not found`);
    return g;
  }

  private view(u: Omit<User, "groupIds">): User {
    const groupIds = [...this.members].filter(([, m]) => m.has(u.id)).map(([gid]) => gid).sort();
    return { ...u, attributes: { ...u.attributes }, groupIds };
  }

  ensureGroup(req: { name: string; attributes: Record<string, string> }): Group {
    if (!req.name) throw invalid("group name is required");
    for (const g of this.groups.values()) if (g.name === req.name) return { ...g };
    const g: Group = { id: this.nextId("group"), name: req.name, attributes: { ...req.attributes } };
    this.groups.set(g.id, g);
    this.members.set(g.id, new Set());
    this.event("group_created");
    return { ...g };
  }

  createUser(req: Omit<User, "id">): User {
    if (!req.username) throw invalid("username is required");
    for (const u of this.users.values()) if (u.username === req.username) return this.view(u);
    for (const gid of req.groupIds) this.group(gid);
    const u = {
      id: this.nextId("user"),
      username: req.username,
      name: req.name,
      email: req.email,
      active: req.active,
      attributes: { ...req.attributes },
    };
    this.users.set(u.id, u);
    for (const gid of req.groupIds) this.members.get(gid)!.add(u.id);
    this.event("user_created");
    return this.view(u);
  }

  getUser(id: string): User {
    return this.view(this.user(id));
  }

  updateUser(req: UpdateUserRequest): User {
    const u = this.user(req.id);
    if (req._name === "name") u.name = req.name ?? "";
    if (req._email === "email") u.email = req.email ?? "";
    if (req._active === "active") u.active = req.active ?? false;
    Object.assign(u.attributes, req.attributes);
    for (const k of req.removeAttributes) delete u.attributes[k];
    this.event("user_updated");
    return this.view(u);
  }

  deleteUser(id: string): void {
    this.user(id);
    this.users.delete(id);
    for (const m of this.members.values()) m.delete(id);
    this.event("user_deleted");
  }

  setPassword(req: { userId: string; password: string }): void {
    if (!req.password) throw invalid("password is required");
    this.user(req.userId);
    this.event("password_set");
  }

  recoveryLink(id: string): { ok: boolean; url: string; reason: string } {
    this.user(id);
    if (!this.flow) return { ok: false, url: "", reason: "no recovery flow configured" };
    return { ok: true, url: `https://identity.example.test/recover/${this.flow.slug}?user=${encodeURIComponent(id)}`, reason: "" };
  }

  addGroupMember(groupId: string, userId: string): void {
    this.group(groupId);
    this.user(userId);
    this.members.get(groupId)!.add(userId);
  }

  removeGroupMember(groupId: string, userId: string): void {
    this.group(groupId);
    this.user(userId);
    this.members.get(groupId)!.delete(userId);
  }

  terminateSessions(id: string): number {
    this.user(id);
    return 0; // the store keeps no sessions
  }

  countAuthenticators(id: string): { total: number; byType: Record<string, number> } {
    this.user(id);
    return { total: 0, byType: {} };
  }

  createOIDCApp(req: { slug: string; name: string; groupId: string }): OIDCApp {
    if (!req.slug || !req.groupId) throw invalid("slug and group are required");
    for (const a of this.apps.values()) {
      if (a.slug !== req.slug) continue;
      if (a.groupId !== req.groupId) throw conflict(`app "${req.slug}" belongs to another group`);
      return { ...a, clientSecret: "" };
    }
    this.group(req.groupId);
    const a: OIDCApp = {
      id: this.nextId("app"),
      slug: req.slug,
      name: req.name,
      groupId: req.groupId,
      clientId: this.nextId("client"),
      clientSecret: "",
      issuerUrl: `https://identity.example.test/${req.slug}/`,
    };
    this.apps.set(a.id, a);
    this.event("app_created");
    return { ...a, clientSecret: this.nextId("secret") };
  }

  deleteOIDCApp(id: string): void {
    if (!this.apps.delete(id)) throw notFound(`app "${id}" not found`);
    this.event("app_deleted");
  }

  ensureRecoveryFlow(): { id: string; slug: string; created: boolean } {
    if (this.flow) return { ...this.flow, created: false };
    this.flow = { id: this.nextId("flow"), slug: "recovery" };
    return { ...this.flow, created: true };
  }

  // Events after the cursor (the ID of the last event returned), oldest
  // first, at most limit of them.
  listEvents(req: { cursor: string; limit: number }): { events: IdentityEvent[]; nextCursor: string } {
    let start = 0;
    if (req.cursor) {
      const n = Number(req.cursor);
      if (!Number.isInteger(n) || n < 0) throw invalid(`bad cursor "${req.cursor}"`);
      start = Math.min(n, this.events.length);
    }
    const limit = req.limit > 0 ? req.limit : 100;
    const events = this.events.slice(start, start + limit);
    return { events, nextCursor: events.length ? events[events.length - 1].id : req.cursor };
  }
}
