"""Evidence: facts a card does not declare, each with its method, confidence and source (DESIGN §7, kind
`evidence`: review unless the policy makes it a requirement). Pure modules: the scanner supplies the text.

The `Evidence` type itself is model data, listed by the Report: `policy.model.evidence`."""
