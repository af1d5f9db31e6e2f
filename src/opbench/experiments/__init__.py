"""The seed's claims as experiments: statistics over seeds, verdicts and the claims table."""
