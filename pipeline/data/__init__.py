"""Input data: the contract, reading and validating extracts, and the catalog of datasets."""
