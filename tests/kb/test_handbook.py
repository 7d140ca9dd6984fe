"""The printable handbook: cover with the country's contacts, contents, articles by category, PDF."""


def test_handbook_page_has_cover_contents_and_articles_by_category(client, library):
    text = client.get("/farajaland/kb/handbook", headers={"Accept-Language": "en"}).get_data(as_text=True)
    cover = text[text.index('class="hb-cover"'):text.index('class="hb-toc"')]
    assert "Farajaland" in cover and "+260 97 555 0100" in cover and "support@farajaland.example" in cover
    assert '<a href="#article-password-reset">Resetting a forgotten password</a>' in text
    assert text.index('id="category-access-and-login"') < text.index('id="category-certificates-and-printing"')
    assert "Triage checklist" not in text  # staff-only articles stay out of the paper handbook


def test_handbook_pdf_downloads(client, library):
    response = client.get("/farajaland/kb/handbook.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert "farajaland-handbook-en.pdf" in response.headers["Content-Disposition"]
