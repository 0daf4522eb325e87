// Renders the AsyncAPI document that the /asyncapi page carries inline (a JSON data block, which
// no policy has to allow as a script), with the viewer kept beside this file.
"use strict";
(function () {
  const schema = document.getElementById("asyncapi-document").textContent;
  window.AsyncApiStandalone.render(
    {
      schema,
      config: {
        show: {
          sidebar: true, info: true, servers: true, operations: true,
          messages: true, schemas: true, errors: true,
        },
        expand: { messageExamples: true },
        sidebar: { showServers: "byDefault", showOperations: "byDefault" },
      },
    },
    document.getElementById("asyncapi"),
  );
})();
