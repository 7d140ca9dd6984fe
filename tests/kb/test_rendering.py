"""Article bodies become safe HTML filled with the country's values."""
from portal.kb.rendering import fill_placeholders, render_article

VALUES = {"country": {"name": "Farajaland", "currency": "FRD"}, "support": {"whatsapp": "+260 97", "email": "s@x.org"},
          "registration": {"fees": {"birth_late": 5.0}, "offices": ["Ibombo", "Isamba"]}}


def test_placeholders_are_filled_from_the_tenant_values():
    markdown, html, unknown = render_article("Pay {{ registration.fees.birth_late }} {{country.currency}} in {{ country.name }}.", VALUES)
    assert markdown == "Pay 5 FRD in Farajaland."
    assert "<p>Pay 5 FRD in Farajaland.</p>" in html
    assert unknown == []


def test_unknown_placeholder_is_invisible_to_readers_and_marked_for_editors():
    _, reader_html, unknown = render_article("Call {{ support.fax }} now.", VALUES)
    assert "fax" not in reader_html and "{{" not in reader_html
    assert unknown == ["support.fax"]
    _, editor_html, _ = render_article("Call {{ support.fax }} now.", VALUES, editor=True)
    assert '<mark class="kb-unknown">{{ support.fax }}</mark>' in editor_html


def test_placeholders_cannot_run_code_or_reach_python_objects():
    for expression in ("{{ ''.__class__ }}", "{{ country.name.upper() }}", "{{ 7 * 7 }}", "{{ country.__class__ }}", "{% for x in y %}"):
        filled = fill_placeholders(expression, VALUES)
        assert "49" not in filled.text and "class" not in filled.text and "FARAJALAND" not in filled.text


def test_markdown_is_sanitized_but_keeps_tables_lists_links_images_and_notes():
    body = (
        "# Title\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[help](how-to-get-help) [bad](javascript:alert(1))\n\n"
        "![map](https://example.org/m.png)\n\n<script>alert(1)</script><img src=x onerror=alert(1)>\n\n> **Note:** keep it safe.\n"
    )
    _, html, _ = render_article(body, VALUES)
    assert "<h1>Title</h1>" in html and "<li>one</li>" in html and "<table>" in html and "<td>1</td>" in html
    assert '<a href="how-to-get-help"' in html
    assert '<img src="https://example.org/m.png" alt="map">' in html
    assert 'href="javascript' not in html and "<script" not in html and '<img src="x"' not in html
    assert "&lt;script&gt;" in html  # shown as text, never run
    assert '<blockquote class="kb-note">' in html


def test_list_values_are_joined():
    assert fill_placeholders("{{ registration.offices }}", VALUES).text == "Ibombo, Isamba"


def test_a_note_label_keeps_its_language_s_space_before_the_colon():
    _, french, _ = render_article("> **Remarque :** vérifiez l'imprimante.\n", VALUES)
    assert '<blockquote class="kb-note"><p><strong>Remarque\u00a0:</strong>' in french  # no-break: the colon never starts a line
    _, narrow, _ = render_article("> **Note\u202f:** déjà insécable.\n", VALUES)
    assert "<strong>Note\u202f:</strong>" in narrow
    _, english, _ = render_article("> **Note:** check the paper.\n", VALUES)
    assert '<blockquote class="kb-note"><p><strong>Note:</strong>' in english
