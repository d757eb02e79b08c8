// Calls as an application writes them: optional fields left out, a multipart upload, a stream read, an error told
// apart by its code. It only has to compile.
import { advice, answer, FolioApiError, listDocuments, login, me, type Session, streamAnswer, uploadDocuments } from "./client";

export function tour(baseUrl: string, file: Blob): Promise<string> {
  return login(baseUrl, { email: "ada@example.com", password: "correct horse battery staple" })
    .then(function (tokens) {
      const session: Session = { baseUrl: baseUrl, accessToken: tokens.access_token };
      return me(session).then(function (who) {
        return uploadDocuments({ ...session, orgId: who.org.id }, [file], { title: "Handbook" });
      })
        .then(function (uploaded) {
          return listDocuments(session, { limit: uploaded.items.length, status: "ready" });
        })
        .then(function (page) {
          return answer(session, { question: "How much notice is needed?" }).then(function (whole) {
            return page.items.length + " documents; " + whole.answer + " (" + whole.citations.length + " citations)";
          });
        })
        .then(function (summary) {
          return streamAnswer(session, { question: "And for late payments?", top_k: 4 }, function (event) {
            if (event.event === "sources") console.log(event.data.sources.length + " sources");
          }).then(function (text) {
            return summary + "\n" + text;
          });
        });
    })
    .catch(function (reason: unknown): string {
      if (reason instanceof FolioApiError) return advice(reason.error) + " (" + reason.error.code + ")";
      throw reason;
    });
}
