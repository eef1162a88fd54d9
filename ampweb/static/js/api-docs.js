// The API documentation page: Swagger UI (vendor/swagger-ui, loaded by a classic
// script before this module, as the global SwaggerUIBundle) over the OpenAPI document.

const root = document.getElementById("api-docs");
const csrf = document.querySelector('meta[name="csrf-token"]')?.content;

window.SwaggerUIBundle({
  url: root.dataset.specUrl,
  domNode: root,
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  // "Try it out" runs in this browser's session, so a state-changing request
  // needs the session's CSRF token, as the pages' own scripts send it.
  requestInterceptor: (request) => {
    if (csrf && request.method && request.method.toUpperCase() !== "GET") {
      request.headers["X-CSRF-Token"] = csrf;
    }
    return request;
  },
});
