"""Security headers on every response, and the browser's view of errors (a Chinese HTML page, not JSON).

The pages load scripts and styles only from /static (no inline script or style), so the policy can forbid
inline code: an injected `<script>` or `onclick=` does not run even if some text slipped through unescaped."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB = Path(__file__).parent / "web"

# The app's own pages: same-origin scripts, styles, API calls; images also as data: URLs (Swagger UI icons).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Paths that answer API clients: their errors stay in the JSON envelope whatever the Accept header says.
API_PREFIXES = ("/api/", "/v1/", "/openapi.json", "/static/")


class SecurityHeaders:
    """Adds HEADERS to every HTTP response that does not set them itself (pure ASGI: streaming is untouched)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in (headers or HEADERS).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.headers if k not in present]
            await send(message)

        await self.app(scope, receive, with_headers)


def wants_html(request: Request) -> bool:
    """A browser navigating to a page (not a script, not an API client): GET, Accept names text/html."""
    if request.method not in ("GET", "HEAD") or request.url.path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


_TITLES = {404: ("找不到这个页面", "您访问的地址不存在，可能已经删除或输入有误。"),
           405: ("无法这样打开这个页面", "请从首页进入。"),
           500: ("服务暂时出了问题", "请稍后再试；如果一直这样，请联系窗口工作人员。")}


def error_page(status: int) -> HTMLResponse:
    """The Chinese error page for browsers: what happened and where to go next, no codes or stack traces."""
    title, text = _TITLES.get(status, ("无法完成请求", "请返回首页重试。"))
    html = (WEB / "error.html").read_text(encoding="utf-8").replace("{{title}}", title).replace("{{text}}", text)
    return HTMLResponse(html.replace("{{status}}", str(status)), status_code=status)
