"""The till's side of photos from the till, for tests against the real Vendure: a
cashier whose role holds only SubmitRecognitionFeedback, and the stand-in POS
(tests/vendure_server/src/pos.ts, the plugin README's recipe) sending frames with it."""

from __future__ import annotations

import secrets
from pathlib import Path

from vendure_server.fixtures import VendureServer, run_pos


def add_cashier(server: VendureServer, channel_ids: list[str], key: str) -> tuple[str, str]:
    """A user whose role holds only SubmitRecognitionFeedback on ``channel_ids``."""
    api = server.admin()
    role = api.gql(
        "mutation($input:CreateRoleInput!){createRole(input:$input){id}}",
        {
            "input": {
                "code": f"cashier-{key}",
                "description": "till",
                "permissions": ["SubmitRecognitionFeedback"],
                "channelIds": channel_ids,
            }
        },
    )["createRole"]["id"]
    email, password = f"cashier-{key}@shop.test", secrets.token_urlsafe(10)
    api.gql(
        "mutation($input:CreateAdministratorInput!){createAdministrator(input:$input){id}}",
        {
            "input": {
                "firstName": "Cashier",
                "lastName": key,
                "emailAddress": email,
                "password": password,
                "roleIds": [role],
            }
        },
    )
    return email, password


def sale_line(product: str, said: list[tuple[str, float]], version: str) -> dict:
    """What the POS sends after a sale line: the cashier's product, the model's top three."""
    return {
        "productId": product,
        "modelVersion": version,
        "predictions": [{"productId": p, "probability": q} for p, q in said],
    }


def send_frames(
    server: VendureServer,
    cashier: tuple[str, str],
    channel_token: str,
    frames: list[tuple[Path, dict]],
) -> list[dict]:
    """Each (photo, sale line) sent as the recipe does (224 px JPEG); the receipts, in
    order. At most 12 a run: the test server's rate limit per session and minute."""
    answer = run_pos(
        {
            "adminApiUrl": server.api,
            "username": cashier[0],
            "password": cashier[1],
            "channelToken": channel_token,
            "imageSize": 224,
            "mode": "send",
            "frames": [{"file": str(photo), "line": line} for photo, line in frames],
        }
    )
    assert all(r["ok"] for r in answer["results"]), answer
    return [r["receipt"] for r in answer["results"]]
