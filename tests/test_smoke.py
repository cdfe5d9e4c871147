def test_it_shows_dashboard_to_a_signed_in_titulaire(personas, login):
    client = login(personas.alice)
    r = client.get("/")
    assert r.status_code == 200
    assert "Bonjour" in r.content.decode()


def test_it_redirects_anonymous_to_login(client, db):
    r = client.get("/")
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]
