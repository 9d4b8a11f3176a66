// Evaluates AWS requests against IAM identity policies with
// @cloud-copilot/iam-simulate, used unmodified. One line of JSON in, one out:
//   {"id":1,"policy":{...},"principal":"arn:...","action":"dynamodb:PutItem",
//    "resource":"arn:...","context":{"dynamodb:LeadingKeys":["APP#1"]}}
//   → {"id":1,"decision":"Allowed"|"ImplicitlyDenied"|"ExplicitlyDenied"|"Error","error":"..."}
// The caller (infra/iam) caches decisions; this process only evaluates.
import { createInterface } from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const account = (arn) => (arn.split(':')[4] || '')

async function evaluate(req) {
  const result = await runSimulation(
    {
      identityPolicies: [{ name: 'function', policy: req.policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: req.action,
        principal: req.principal,
        resource: { resource: req.resource, accountId: account(req.resource) || account(req.principal) },
        contextVariables: req.context || {}
      }
    },
    {}
  )
  if (result.resultType === 'error') {
    return { decision: 'Error', error: JSON.stringify(result.errors) }
  }
  return { decision: result.overallResult }
}

const lines = createInterface({ input: process.stdin })
lines.on('line', async (line) => {
  let req
  try {
    req = JSON.parse(line)
  } catch (e) {
    process.stdout.write(JSON.stringify({ id: 0, decision: 'Error', error: 'bad request line: ' + e.message }) + '\n')
    return
  }
  let out
  try {
    out = await evaluate(req)
  } catch (e) {
    out = { decision: 'Error', error: String(e && e.stack || e) }
  }
  process.stdout.write(JSON.stringify({ id: req.id, ...out }) + '\n')
})
lines.on('close', () => process.exit(0))
