"""What the OpenAPI description says that FastAPI cannot derive from the routes: answers in media
types of their own, the problem+json schemas and the partners' credentials."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from gateway.api import auth, citizens, exchange, operators, problems


def answer(
    media_type: str, description: str, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """OpenAPI of an answer that is not JSON (a string unless ``schema`` says otherwise); the
    route takes ``response_class=Response`` so that FastAPI does not also claim JSON."""
    return {
        "description": description,
        "content": {media_type: {"schema": schema or {"type": "string"}}},
    }


class GatewayApi(FastAPI):
    """FastAPI whose description also holds the problem+json schemas (``problems.describe``),
    what every exchange can answer (``exchange.describe``), the two credentials of SPEC section 2
    (``auth.SECURITY_SCHEMES``), the citizen's assertion (``citizens.SECURITY_SCHEMES``) and the
    operator's (``operators.SECURITY_SCHEMES``)."""

    def openapi(self) -> dict[str, Any]:
        if not self.openapi_schema:
            described = exchange.describe(problems.describe(super().openapi()))
            described["components"]["securitySchemes"] = {
                **auth.SECURITY_SCHEMES,
                **citizens.SECURITY_SCHEMES,
                **operators.SECURITY_SCHEMES,
            }
            self.openapi_schema = described
        return self.openapi_schema
