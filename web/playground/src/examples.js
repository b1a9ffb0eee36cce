// The example operations per persona (docs/examples), bundled as text.
import operator from '../../../docs/examples/operator.graphql';
import partner from '../../../docs/examples/partner-staff.graphql';
import admin from '../../../docs/examples/tenant-admin.graphql';
import member from '../../../docs/examples/member.graphql';

export const examples = [
  { persona: 'operator', title: 'Operator', query: operator },
  { persona: 'partner', title: 'Partner staff', query: partner },
  { persona: 'admin', title: 'Tenant admin', query: admin },
  { persona: 'member', title: 'Member', query: member },
];

// exampleFor returns the examples of a persona spec such as "admin:acme".
export function exampleFor(as) {
  const kind = String(as || '').split(':')[0];
  return examples.find((e) => e.persona === kind);
}
