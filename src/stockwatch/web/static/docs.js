// The API docs page: Swagger UI from the swagger-ui-bundle package, served by stockwatch
// itself, so /docs works offline and under the same Content-Security-Policy as the dashboard.
window.addEventListener("load", () => {
  window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
});
