// A small client typed only by what openapi-typescript generates from Folio's OpenAPI document (check.sh): tsc
// --strict with its default options must accept it without casts. Default options mean ES5's library, so it chains
// promises rather than awaiting them.
import type { components, paths } from "./generated/folio";
import { type ErrorCode, statusOf } from "./generated/error-statuses";

type Schemas = components["schemas"];

export interface Session {
  baseUrl: string;
  accessToken: string;
  orgId?: string;
}

/** An error answered in Folio's envelope; `error.code` is one of the document's codes. */
export class FolioApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: Schemas["ErrorBody"],
  ) {
    super(error.code + ": " + error.message);
  }
}

export type Advice = "reauthenticate" | "retry-later" | "fix-the-request" | "not-found" | "report";

/** What a caller should do about an error: by its code where the code says more than its status. */
export function advice(error: Schemas["ErrorBody"]): Advice {
  const code: ErrorCode = error.code;
  switch (code) {
    case "AUTH_EXPIRED":
    case "AUTH_REQUIRED":
      return "reauthenticate";
    case "RATE_LIMIT_EXCEEDED":
    case "SERVER_BUSY":
    case "LLM_BUSY":
      return "retry-later";
    case "VALIDATION_ERROR":
    case "INVALID_CURSOR":
      return "fix-the-request";
    default:
      return byStatus(statusOf(code));
  }
}

function byStatus(status: number | undefined): Advice {
  if (status === 401) return "reauthenticate";
  if (status === 404 || status === 410) return "not-found";
  if (status === 429 || status === 503) return "retry-later";
  if (status !== undefined && status < 500) return "fix-the-request";
  return "report";
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

function url(session: Session | string, path: string, query?: Query): string {
  const base = typeof session === "string" ? session : session.baseUrl;
  const parts: string[] = [];
  for (const name of Object.keys(query || {})) {
    const value = (query || {})[name];
    const values = value === undefined ? [] : value instanceof Array ? value : [String(value)];
    for (const each of values) parts.push(encodeURIComponent(name) + "=" + encodeURIComponent(each));
  }
  return base + path + (parts.length ? "?" + parts.join("&") : "");
}

function headers(session: Session, extra: Record<string, string>): Record<string, string> {
  const all: Record<string, string> = { Authorization: "Bearer " + session.accessToken };
  if (session.orgId) all["X-Org-Id"] = session.orgId;
  for (const name of Object.keys(extra)) all[name] = extra[name];
  return all;
}

/** The response when it succeeded, else a FolioApiError from its envelope. */
function succeeded(response: Response): Response | Promise<Response> {
  if (response.ok) return response;
  return response.json().then(function (envelope: Schemas["ErrorEnvelope"]): Response {
    throw new FolioApiError(response.status, envelope.error);
  });
}

function json<T>(response: Response): Promise<T> {
  return response.json();
}

function postJson<T>(session: Session, path: string, body: unknown, accept = "application/json"): Promise<T> {
  return fetch(url(session, path), {
    method: "POST",
    headers: headers(session, { "Content-Type": "application/json", Accept: accept }),
    body: JSON.stringify(body),
  })
    .then(succeeded)
    .then(json<T>);
}

export function login(baseUrl: string, credentials: Schemas["LoginRequest"]): Promise<Schemas["TokenResponse"]> {
  return fetch(url(baseUrl, "/api/v1/auth/login"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(credentials),
  })
    .then(succeeded)
    .then(json<Schemas["TokenResponse"]>);
}

export function me(session: Session): Promise<Schemas["MeResponse"]> {
  return fetch(url(session, "/api/v1/auth/me"), { headers: headers(session, {}) })
    .then(succeeded)
    .then(json<Schemas["MeResponse"]>);
}

type ListDocuments = paths["/api/v1/documents"]["get"];

export function listDocuments(
  session: Session,
  query: ListDocuments["parameters"]["query"],
): Promise<ListDocuments["responses"][200]["content"]["application/json"]> {
  return fetch(url(session, "/api/v1/documents", query), { headers: headers(session, {}) })
    .then(succeeded)
    .then(json<ListDocuments["responses"][200]["content"]["application/json"]>);
}

/** The upload form's fields by their schema's names; the files are the browser's. */
export type UploadFields = Omit<Schemas["DocumentUploadForm"], "files">;

export function uploadDocuments(
  session: Session,
  files: Blob[],
  fields: UploadFields,
): Promise<paths["/api/v1/documents"]["post"]["responses"][202]["content"]["application/json"]> {
  const form = new FormData();
  for (const file of files) form.append("files", file);
  if (fields.title !== undefined) form.append("title", fields.title);
  if (fields.tags !== undefined) form.append("tags", fields.tags);
  if (fields.metadata !== undefined) form.append("metadata", fields.metadata);
  return fetch(url(session, "/api/v1/documents"), { method: "POST", headers: headers(session, {}), body: form })
    .then(succeeded)
    .then(json<Schemas["UploadResponse"]>);
}

type Answers = paths["/api/v1/answers"]["post"];

/** The whole answer: the JSON media type of the same 200, which is no union with the stream's. */
export function answer(
  session: Session,
  request: Schemas["AnswerRequest"],
): Promise<Answers["responses"][200]["content"]["application/json"]> {
  return postJson(session, "/api/v1/answers", { ...request, stream: false });
}

/** A streamed answer's events as they arrive on the wire (`data` is JSON text). */
export type AnswerWireEvent = Answers["responses"][200]["content"]["text/event-stream"][number];

/** What each event's `data` holds, by the event names the stream's schema lists (a new name fails to compile). */
interface AnswerPayloads {
  sources: Schemas["AnswerSources"];
  delta: Schemas["AnswerDelta"];
  done: Schemas["AnswerDone"];
  error: Schemas["StreamError"];
}

/** An event with its `data` read: a union narrowed by `event`. */
export type AnswerEvent = {
  [Name in AnswerWireEvent["event"]]: { event: Name; id: string; data: AnswerPayloads[Name] };
}[AnswerWireEvent["event"]];

const ANSWER_EVENTS: Record<AnswerWireEvent["event"], true> = { sources: true, delta: true, done: true, error: true };

function isAnswerEventName(name: string | undefined): name is AnswerWireEvent["event"] {
  return name !== undefined && Object.prototype.hasOwnProperty.call(ANSWER_EVENTS, name);
}

/** The events of a `text/event-stream` body's complete blocks; a comment or a lone `retry:` is none. */
function answerEvents(blocks: string[]): AnswerEvent[] {
  const events: AnswerEvent[] = [];
  for (const block of blocks) {
    const fields: Record<string, string> = {};
    for (const line of block.split("\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, "");
    }
    const name = fields["event"];
    if (isAnswerEventName(name) && fields["data"] !== undefined) {
      events.push({ event: name, id: fields["id"], data: JSON.parse(fields["data"]) });
    }
  }
  return events;
}

/** Ask with `stream: true`, handing each event to `onEvent`; resolves with the text once `done` arrives. */
export function streamAnswer(
  session: Session,
  request: Schemas["AnswerRequest"],
  onEvent: (event: AnswerEvent) => void,
): Promise<string> {
  let text = "";
  let pending = "";
  const decoder = new TextDecoder();
  return fetch(url(session, "/api/v1/answers"), {
    method: "POST",
    headers: headers(session, { "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify({ ...request, stream: true }),
  })
    .then(succeeded)
    .then(function (response): Promise<string> {
      if (response.body === null) throw new Error("The answer came without a body.");
      const reader = response.body.getReader();
      function read(): Promise<string> {
        return reader.read().then(function (chunk): string | Promise<string> {
          pending += decoder.decode(chunk.value, { stream: !chunk.done }).replace(/\r\n?/g, "\n");
          const blocks = pending.split("\n\n");
          pending = chunk.done ? "" : blocks.pop() || "";
          for (const event of answerEvents(blocks)) {
            onEvent(event);
            switch (event.event) {
              case "sources":
                break;
              case "delta":
                text += event.data.text;
                break;
              case "done":
                return text;
              case "error":
                throw new Error(event.data.code + ": " + event.data.message);
              default:
                return unexpected(event);
            }
          }
          if (chunk.done) throw new Error("The answer's stream ended before its `done` event.");
          return read();
        });
      }
      return read();
    });
}

function unexpected(event: never): never {
  throw new Error("Unexpected event: " + JSON.stringify(event));
}
