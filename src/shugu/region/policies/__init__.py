"""Policies (惠企政策) as data: who qualifies, for how much and why; grants without applying
(免申即享) with objections; innovation points (创新积分)."""
