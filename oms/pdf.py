"""HTML to PDF (WeasyPrint) for every document the shops print: nothing outside the page itself is fetched."""


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Everything is inline (data URIs): WeasyPrint may not fetch any file or network URL.
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    return HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
