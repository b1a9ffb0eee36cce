// Typed provider errors, carried to the host the way the Go SDK does: a
// gRPC status whose code matches the error code, with a google.rpc.Status
// in the grpc-status-details-bin trailer holding a google.rpc.ErrorInfo
// (reason = the code, domain = plugin.dezky.io).
import { Metadata, status } from "@grpc/grpc-js";

export type Code =
  | "NOT_FOUND"
  | "CONFLICT"
  | "IN_USE"
  | "UNAVAILABLE"
  | "INVALID"
  | "UNAUTHENTICATED"
  | "UNSUPPORTED"
  | "INTERNAL";

const grpcCodes: Record<Code, status> = {
  NOT_FOUND: status.NOT_FOUND,
  CONFLICT: status.ALREADY_EXISTS,
  IN_USE: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
  INVALID: status.INVALID_ARGUMENT,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  UNSUPPORTED: status.UNIMPLEMENTED,
  INTERNAL: status.INTERNAL,
};

export const errorDomain = "plugin.dezky.io";

export class ProviderError extends Error {
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (m: string) => new ProviderError("NOT_FOUND", m);
export const conflict = (m: string) => new ProviderError("CONFLICT", m);
export const invalid = (m: string) => new ProviderError("INVALID", m);
export const unavailable = (m: string) => new ProviderError("UNAVAILABLE", m);

// --- protobuf wire encoding of google.rpc.Status / Any / ErrorInfo ---------

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

const field = (num: number, value: Buffer) => Buffer.concat([varint((num << 3) | 2), varint(value.length), value]);
const str = (num: number, s: string) => field(num, Buffer.from(s, "utf8"));

function statusDetails(code: status, message: string, reason: Code): Buffer {
  const errorInfo = Buffer.concat([str(1, reason), str(2, errorDomain)]);
  const any = Buffer.concat([str(1, "type.googleapis.com/google.rpc.ErrorInfo"), field(2, errorInfo)]);
  return Buffer.concat([varint((1 << 3) | 0), varint(code), str(2, message), field(3, any)]);
}

export interface ServiceError {
  code: status;
  details: string;
  metadata: Metadata;
}

// toServiceError converts anything thrown by a handler; errors that are
// not ProviderErrors become INTERNAL, like in the Go SDK.
export function toServiceError(err: unknown): ServiceError {
  const e = err instanceof ProviderError ? err : new ProviderError("INTERNAL", err instanceof Error ? err.message : String(err));
  const code = grpcCodes[e.code];
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", statusDetails(code, e.message, e.code));
  return { code, details: e.message, metadata };
}
