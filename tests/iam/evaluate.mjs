// Evaluates IAM requests against identity policies with a real IAM policy evaluator:
// @cloud-copilot/iam-simulate (pinned in package.json as a devDependency; AGPL-3.0, so a test-time
// tool only: it is never imported by launcher/ and never shipped in the wheel).
//
// stdin:  {"account": "123456789012",
//          "principals": {"<name>": {"arn": "arn:aws:iam::...:role/...", "policies": {"<doc>": {...}}}},
//          "requests": [{"principal": "<name>", "action": "s3:GetObject", "resource": "arn:...",
//                        "context": {"s3:prefix": "p/"}}]}
// stdout: [{"decision": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error",
//           "allowedBy": ["<doc>:<Sid>", ...], "ignoredContextKeys": [...], "error": "..."}]
// One process evaluates every request (tests/iam/calls.py runs it once per test).
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const out = []
for (const req of input.requests) {
  const principal = input.principals[req.principal]
  if (!principal) {
    out.push({ decision: 'Error', allowedBy: [], ignoredContextKeys: [], error: `unknown principal ${req.principal}` })
    continue
  }
  const simulation = {
    request: {
      principal: principal.arn,
      action: req.action,
      resource: { resource: req.resource, accountId: input.account },
      contextVariables: req.context || {},
    },
    identityPolicies: Object.entries(principal.policies).map(([name, policy]) => ({ name, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }
  let result
  try {
    result = await runSimulation(simulation, { simulationMode: 'Strict' })
  } catch (e) {
    out.push({ decision: 'Error', allowedBy: [], ignoredContextKeys: [], error: String(e) })
    continue
  }
  if (result.resultType === 'error') {
    out.push({ decision: 'Error', allowedBy: [], ignoredContextKeys: [], error: JSON.stringify(result.errors) })
    continue
  }
  const results = result.resultType === 'single' ? [result.result] : result.results
  const allowedBy = new Set()
  const ignored = new Set()
  for (const r of results) {
    for (const s of r.analysis?.identityAnalysis?.allowStatements || []) {
      allowedBy.add(`${s.policyId}:${s.explain?.identifier ?? '?'}`)
    }
    for (const k of r.ignoredContextKeys || []) ignored.add(k)
  }
  out.push({ decision: result.overallResult, allowedBy: [...allowedBy].sort(), ignoredContextKeys: [...ignored].sort() })
}
process.stdout.write(JSON.stringify(out))
