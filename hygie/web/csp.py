"""The one place that builds the Content-Security-Policy. No inline script, no CDN."""

def policy(form_action: tuple[str, ...] = ()) -> str:
    """The policy; `form_action`: other origins a form of ours may lead to (the Pro Santé Connect
    login and logout redirect there, hygie.psc.config.form_action_origins)."""
    targets = " ".join(("'self'", *form_action))
    return "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # data: for the TOTP QR code that allauth renders as an inline SVG image.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        f"form-action {targets}",
        "frame-ancestors 'none'",
    ]
    )


CONTENT_SECURITY_POLICY = policy()

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
