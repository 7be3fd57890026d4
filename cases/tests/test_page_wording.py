def test_the_case_page_shows_names_and_agreement_references_as_words(world, signed_in):
    # given a partner practitioner who receives the nominal's identity
    page = signed_in(world.health_practitioner).get(f"/cases/{world.case.pk}/").content.decode()
    # then the nominal's name reads as a name, the agreement by its reference, labels keep their capitals
    assert "Daniel Marsh" in page
    assert '"family"' not in page
    assert "ISA-NS-2026-01" in page
    assert "Pnc id" not in page
