package indicatorio

import (
	"strconv"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// AppendIndicator appends the JSON of an indicator, its properties in the
// order of the documented examples.
func AppendIndicator(b []byte, in *openatp.Indicator) []byte {
	b = append(b, `{"id":`...)
	if in.ID == "" { // not stored yet (openatp seed --out)
		b = append(b, "null"...)
	} else {
		b = wire.AppendString(b, in.ID)
	}
	b = append(b, `,"indicatorValue":`...)
	b = wire.AppendString(b, in.IndicatorValue)
	b = append(b, `,"indicatorType":`...)
	b = wire.AppendString(b, in.IndicatorType)
	b = append(b, `,"action":`...)
	b = wire.AppendString(b, in.Action)
	b = append(b, `,"application":`...)
	b = wire.AppendStringPtr(b, in.Application)
	b = append(b, `,"source":`...)
	b = wire.AppendString(b, in.Source)
	b = append(b, `,"sourceType":`...)
	b = wire.AppendString(b, in.SourceType)
	b = append(b, `,"createdBy":`...)
	b = wire.AppendString(b, in.CreatedBy)
	b = append(b, `,"createdBySource":`...)
	b = wire.AppendString(b, in.CreatedBySource)
	b = append(b, `,"createdByDisplayName":`...)
	b = wire.AppendString(b, in.CreatedByDisplayName)
	b = append(b, `,"severity":`...)
	b = wire.AppendString(b, in.Severity)
	b = append(b, `,"title":`...)
	b = wire.AppendString(b, in.Title)
	b = append(b, `,"description":`...)
	b = wire.AppendString(b, in.Description)
	b = append(b, `,"recommendedActions":`...)
	b = wire.AppendStringPtr(b, in.RecommendedActions)
	b = append(b, `,"creationTimeDateTimeUtc":`...)
	b = wire.AppendTime(b, &in.CreationTime)
	b = append(b, `,"expirationTime":`...)
	b = wire.AppendTime(b, in.ExpirationTime)
	b = append(b, `,"lastUpdateTime":`...)
	b = wire.AppendTime(b, &in.LastUpdateTime)
	b = append(b, `,"lastUpdatedBy":`...)
	b = wire.AppendString(b, in.LastUpdatedBy)
	b = append(b, `,"rbacGroupNames":`...)
	b = appendStrings(b, in.RBACGroupNames)
	b = append(b, `,"rbacGroupIds":`...)
	b = appendStrings(b, GroupIDs(in.RBACGroupIDs))
	b = append(b, `,"generateAlert":`...)
	b = strconv.AppendBool(b, in.GenerateAlert)
	b = append(b, `,"educateUrl":`...)
	b = wire.AppendStringPtr(b, in.EducateURL)
	b = append(b, `,"externalId":`...)
	b = wire.AppendStringPtr(b, in.ExternalID)
	return append(b, '}')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendString(b, s)
	}
	return append(b, ']')
}

// GroupIDs writes device group ids as the entity's rbacGroupIds.
func GroupIDs(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}
