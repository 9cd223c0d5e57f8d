"""The shop site over real HTTP: the traits a connector for a server-rendered shop must cope with."""

from __future__ import annotations

import io
from collections.abc import Callable

import httpx
import pytest
from parsel import Selector
from pypdf import PdfReader
from shop_site import ShopSite

Make = Callable[..., ShopSite]
DE = {"Accept-Language": "de-DE,de;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9,de;q=0.5"}


def log_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    form = Selector(client.get("/accounts/login/").text)
    token = form.css("#login-form input[name=csrfmiddlewaretoken]::attr(value)").get()
    return client.post(
        "/accounts/login/", data={"csrfmiddlewaretoken": token, "username": email, "password": password, "next": ""}
    )


def client_of(shop: ShopSite, headers: dict[str, str] = DE) -> httpx.Client:
    return httpx.Client(base_url=shop.url, headers=headers)


def test_the_login_page_has_a_csrf_form_and_a_second_log_in_button(make_shop: Make) -> None:
    shop = make_shop()
    with client_of(shop, EN) as client:
        answer = client.get("/accounts/login/")
        assert answer.status_code == 200
        page = Selector(answer.text)
        token = page.css("input[name=csrfmiddlewaretoken]::attr(value)").get()
        assert token
        assert client.cookies["csrftoken"] == token
        assert page.xpath("//button[normalize-space()='Log in']/ancestor::form/@method").getall() == ["get", "post"]


def test_a_wrong_password_re_renders_the_form_with_an_alert(make_shop: Make) -> None:
    shop = make_shop()
    anna = shop.customers[0]
    with client_of(shop) as client:
        answer = log_in(client, anna.email, "wrong")
        assert answer.status_code == 200
        alert = Selector(answer.text).css("[role=alert]::text").get()
        assert alert is not None
        assert "korrekte E-Mail-Adresse" in alert
        assert "sessionid" not in client.cookies
        forged = client.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": "forged", "username": anna.email, "password": anna.password},
        )
        assert forged.status_code == 403
    assert shop.stats()["login_failures"] == 1
    assert shop.stats()["csrf_failures"] == 1


def test_orders_paginate_by_20_with_absolute_secret_links_in_new_tabs(make_shop: Make) -> None:
    shop = make_shop(orders=45)
    anna = shop.customers[0]
    with client_of(shop, DE) as client:
        answer = log_in(client, anna.email, anna.password)
        assert answer.status_code == 302
        assert answer.headers["location"] == "/orders/"
        pages = [Selector(client.get("/orders/", params={"page": n}).text) for n in (1, 2, 3)]
    assert [len(p.css("tr.order")) for p in pages] == [20, 20, 5]
    expected = shop.orders()
    first = pages[0].css("tr.order")[0]
    link = first.css("a.details")
    assert link.attrib["target"] == "_blank"
    assert link.attrib["href"] == f"{shop.url}/orders/{expected[0].number}/?key={expected[0].key}"
    assert pages[0].css("a[rel=next]::attr(href)").get() == f"{shop.url}/orders/?page=2"
    assert pages[2].css("a[rel=next]").get() is None
    assert "/invoice.pdf" not in pages[0].get()


@pytest.mark.parametrize(
    ("headers", "label", "amount_sep", "date_sep"),
    [(DE, "Rechnungsnummer", ",", "."), (EN, "Invoice number", ".", "/")],
)
def test_accept_language_sets_labels_and_formats(
    make_shop: Make, headers: dict[str, str], label: str, amount_sep: str, date_sep: str
) -> None:
    shop = make_shop(orders=3)
    anna = shop.customers[0]
    order = shop.orders()[0]
    with client_of(shop, headers) as client:
        log_in(client, anna.email, anna.password)
        detail = client.get(f"/orders/{order.number}/", params={"key": order.key})
    page = Selector(detail.text)
    assert label in page.css("dt::text").getall()
    total = page.css("dd.total::text").get() or ""
    assert total.replace("\u00a0", " ").strip("€ ")[-3] == amount_sep
    assert date_sep in (page.css("dd.date::text").get() or "")
    assert page.xpath("/html/@lang").get() == ("de-DE" if headers is DE else "en-GB")


def test_german_amounts_have_a_thousands_separator(make_shop: Make) -> None:
    shop = make_shop(orders=40)
    big = next(o for o in shop.orders() if o.total >= 1000)
    anna = shop.customers[0]
    with client_of(shop) as client:
        log_in(client, anna.email, anna.password)
        page = Selector(client.get(f"/orders/{big.number}/", params={"key": big.key}).text)
    whole, cents = divmod(int(big.total * 100), 100)
    assert page.css("dd.total::text").get() == f"{whole // 1000}.{whole % 1000:03d},{cents:02d}\u00a0€"


def test_the_invoice_is_only_on_the_detail_page_and_served_inline(make_shop: Make) -> None:
    shop = make_shop(orders=3)
    anna = shop.customers[0]
    order = shop.orders()[1]
    with client_of(shop) as client:
        log_in(client, anna.email, anna.password)
        detail = Selector(client.get(f"/orders/{order.number}/", params={"key": order.key}).text)
        link = detail.css("a.invoice")
        assert link.attrib["target"] == "_blank"
        assert link.attrib["href"] == f"{shop.url}/orders/{order.number}/invoice.pdf?key={order.key}"
        pdf = client.get(link.attrib["href"])
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline;")
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert order.invoice_number in text
    assert order.number in text
    assert shop.stats()["invoices_served"] == 1


def test_the_second_customer_orders_never_show_to_the_first(make_shop: Make) -> None:
    shop = make_shop(orders=3, other_orders=4)
    anna, ben = shop.customers
    bens = shop.orders(ben.email)
    with client_of(shop) as client:
        log_in(client, anna.email, anna.password)
        listing = client.get("/orders/").text
        assert not any(o.number in listing for o in bens)
        assert client.get(f"/orders/{bens[0].number}/", params={"key": bens[0].key}).status_code == 404
        assert client.get(f"/orders/{bens[0].number}/invoice.pdf", params={"key": bens[0].key}).status_code == 404
        mine = shop.orders()[0]
        assert client.get(f"/orders/{mine.number}/", params={"key": "guessed"}).status_code == 404
    assert shop.stats()["order_denied"] == 3


def test_an_expired_session_redirects_to_a_login_page_that_answers_200(make_shop: Make) -> None:
    shop = make_shop(orders=3, session_max_requests=2)
    anna = shop.customers[0]
    with client_of(shop) as client:
        log_in(client, anna.email, anna.password)
        assert client.get("/orders/").status_code == 200
        assert client.get("/orders/").status_code == 200
        expired = client.get("/orders/", params={"page": 1})
        assert expired.status_code == 302
        assert expired.headers["location"] == "/accounts/login/?next=%2Forders%2F%3Fpage%3D1"
        landed = client.get(expired.headers["location"])
        assert landed.status_code == 200
        assert "id_password" in landed.text
    assert shop.stats()["sessions_expired"] == 1


def test_the_error_rate_answers_500_evenly_and_counts_routes(make_shop: Make) -> None:
    shop = make_shop(orders=3, error_rate=0.5)
    anna = shop.customers[0]
    with client_of(shop) as client:
        assert log_in(client, anna.email, anna.password).status_code == 302  # knobbed request 1 (the POST)
        assert [client.get("/orders/").status_code for _ in range(3)] == [500, 200, 500]  # 2, 3, 4
    stats = shop.stats()
    assert stats["status_500"] == 2
    assert stats["login"] == 2
    assert stats["orders"] == 3
    shop.reset_stats()
    assert shop.stats() == {}


def test_a_bad_knob_is_refused_naming_the_field(make_shop: Make) -> None:
    shop = make_shop()
    with pytest.raises(ValueError, match=r"ShopConfig\.per_page"):
        shop.config.per_page = 0
