// Swagger UI for /docs, from the locally installed swagger-ui-bundle-v2 assets (works without internet).
"use strict";
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout", persistAuthorization: false});
