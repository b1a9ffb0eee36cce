// dezky-provider-node-identity: a Dezky identity provider plugin in
// TypeScript. It speaks go-plugin's handshake itself:
//
//  1. refuse to run unless the host set the magic cookie;
//  2. pick protocol 2 from PLUGIN_PROTOCOL_VERSIONS (the versions the host
//     offers), or exit;
//  3. with PLUGIN_CLIENT_CERT (AutoMTLS) serve TLS, trusting only that
//     certificate as client, with a fresh self-signed server certificate;
//  4. listen on 127.0.0.1, serve the protocol's Provider and Identity
//     services, grpc.health.v1 for "plugin" and go-plugin's controller,
//     and print one line to stdout:
//     1|2|tcp|127.0.0.1:<port>|grpc|<server certificate, base64 DER>
//
// go-plugin's broker and stdio streams are not served (the protocol uses
// neither); the host tolerates that. Logs are JSON lines on stderr, which
// the host re-emits with plugin=<name>. Secrets are never logged.
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

import { makeServerCert } from "./cert";
import { toServiceError, unavailable } from "./errors";
import { IdentityStore } from "./identity";

const magicCookieKey = "DEZKY_PLUGIN_MAGIC_COOKIE";
const magicCookieValue = "7f3c2b1e-dezky-provider-plugin";
const coreProtocol = 1; // go-plugin's own handshake version
const protocolVersion = 2; // the Dezky plugin protocol served
const name = "node-identity";
const version = "0.1.0";

function log(level: "DEBUG" | "INFO" | "WARN" | "ERROR", msg: string, attrs: Record<string, unknown> = {}): void {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...attrs }) + "\n");
}

// The protocol definitions: the repository's plugins/proto (v2) plus the
// two go-plugin services in ./proto.
function loadProtos(): any {
  const def = protoLoader.loadSync(["v2/provider.proto", "v2/identity.proto", "health.proto", "controller.proto"], {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [
      process.env.DEZKY_PROTO_DIR ?? path.resolve(__dirname, "../../../../plugins/proto"),
      path.resolve(__dirname, "../proto"),
    ],
  });
  return grpc.loadPackageDefinition(def);
}

// unary adapts a synchronous handler: its result is the response, a thrown
// error becomes a typed status.
function unary<Req, Res>(fn: (req: Req) => Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    try {
      callback(null, fn(call.request));
    } catch (err) {
      callback(toServiceError(err));
    }
  };
}

function main(): void {
  if (process.env[magicCookieKey] !== magicCookieValue) {
    process.stderr.write("This binary is a Dezky provider plugin. It is started by the Dezky server, not by hand.\n");
    process.exit(1);
  }
  const offered = (process.env.PLUGIN_PROTOCOL_VERSIONS ?? "").split(",").filter(Boolean).map(Number);
  if (!offered.includes(protocolVersion)) {
    log("ERROR", "the host does not speak this plugin's protocol", { offered, served: protocolVersion });
    process.exit(1);
  }

  const pkg = loadProtos();
  const v2 = pkg.dezky.plugin.v2;
  let configured = false;
  const store = new IdentityStore();
  // Every identity call fails with UNAVAILABLE until Configure succeeded.
  const identity = <Req, Res>(fn: (req: Req) => Res) =>
    unary<Req, Res>((req) => {
      if (!configured) throw unavailable("not configured");
      return fn(req);
    });

  const server = new grpc.Server();
  server.addService(v2.Provider.service, {
    Describe: unary(() => ({ name, version, capabilities: ["identity"], protocolVersion })),
    Configure: unary((req: { settings: Record<string, string>; secrets: Record<string, string> }) => {
      configured = true;
      log("INFO", "configured", { settings: Object.keys(req.settings).sort(), secrets: Object.keys(req.secrets).sort() });
      return {};
    }),
    Health: unary(() => ({ healthy: configured, message: configured ? "in-memory store" : "not configured" })),
  });
  server.addService(v2.Identity.service, {
    EnsureGroup: identity((req: any) => store.ensureGroup(req)),
    CreateUser: identity((req: any) => store.createUser(req)),
    GetUser: identity((req: { id: string }) => store.getUser(req.id)),
    UpdateUser: identity((req: any) => store.updateUser(req)),
    DeleteUser: identity((req: { id: string }) => (store.deleteUser(req.id), {})),
    SetPassword: identity((req: any) => (store.setPassword(req), {})),
    RecoveryLink: identity((req: { id: string }) => store.recoveryLink(req.id)),
    AddGroupMember: identity((req: { groupId: string; userId: string }) => (store.addGroupMember(req.groupId, req.userId), {})),
    RemoveGroupMember: identity((req: { groupId: string; userId: string }) => (store.removeGroupMember(req.groupId, req.userId), {})),
    TerminateSessions: identity((req: { id: string }) => ({ terminated: store.terminateSessions(req.id) })),
    CountAuthenticators: identity((req: { id: string }) => store.countAuthenticators(req.id)),
    CreateOIDCApp: identity((req: any) => store.createOIDCApp(req)),
    DeleteOIDCApp: identity((req: { id: string }) => (store.deleteOIDCApp(req.id), {})),
    EnsureRecoveryFlow: identity(() => store.ensureRecoveryFlow()),
    ListEvents: identity((req: { cursor: string; limit: number }) => store.listEvents(req)),
  });
  // go-plugin pings "plugin" through the standard health service.
  server.addService(pkg.grpc.health.v1.Health.service, {
    Check: unary(() => ({ status: "SERVING" })),
  });
  // The host's Kill calls Shutdown first and waits up to two seconds.
  server.addService(pkg.plugin.GRPCController.service, {
    Shutdown: (_call: unknown, callback: grpc.sendUnaryData<object>) => {
      callback(null, {});
      setImmediate(() => server.tryShutdown(() => process.exit(0)));
    },
  });

  let creds = grpc.ServerCredentials.createInsecure();
  let certField = "";
  const clientCert = process.env.PLUGIN_CLIENT_CERT;
  if (clientCert) {
    const cert = makeServerCert();
    creds = grpc.ServerCredentials.createSsl(
      Buffer.from(clientCert),
      [{ private_key: Buffer.from(cert.keyPem), cert_chain: Buffer.from(cert.certPem) }],
      true, // require and verify the host's client certificate
    );
    certField = cert.handshake;
  }
  // Like a Go plugin, ignore interrupts: the host decides when to stop.
  process.on("SIGINT", () => log("DEBUG", "interrupt ignored"));

  server.bindAsync("127.0.0.1:0", creds, (err, port) => {
    if (err) {
      log("ERROR", "listen", { error: err.message });
      process.exit(1);
    }
    process.stdout.write(`${coreProtocol}|${protocolVersion}|tcp|127.0.0.1:${port}|grpc|${certField}\n`);
  });
}

main();
