//! Geometry literals of a filter (GeoJSON, WKT, `BBOX`) as WKB, and the
//! bbox-column conditions that let DuckDB skip rows before the exact test.

use crate::sql::Sql;
use crate::{Error, Result};
use cql2::Expr;
use duckdb::types::Value;
use serde_json::json;
use stac_indexed_format::geometry::{Bbox, encode_geojson};

/// A literal region: its WKB and its bounds (`west > east` when a `BBOX`
/// crosses the antimeridian).
pub(crate) struct Region {
    pub wkb: Vec<u8>,
    pub bounds: Bbox,
    /// The box itself, for a `BBOX` literal that does not cross the antimeridian.
    pub rectangle: Option<Bbox>,
}

impl Region {
    /// The region of a geometry or `BBOX` literal.
    pub(crate) fn of(expr: &Expr) -> Result<Region> {
        match expr {
            Expr::Geometry(geometry) => {
                let geojson = serde_json::to_value(geometry)
                    .map_err(|e| Error::Invalid(format!("geometry: cannot read it ({e})")))?;
                let encoded = encode_geojson(&geojson).map_err(|e| Error::Invalid(format!("geometry: {e}")))?;
                Ok(Region {
                    wkb: encoded.wkb,
                    bounds: encoded.bbox,
                    rectangle: None,
                })
            }
            Expr::BBox { bbox } => Region::of_bbox(bbox),
            _ => Err(Error::Invalid("not a geometry".into())),
        }
    }

    fn of_bbox(numbers: &[Box<Expr>]) -> Result<Region> {
        let numbers: Vec<f64> = numbers
            .iter()
            .map(|n| match **n {
                Expr::Float(n) if n.is_finite() => Ok(n),
                _ => Err(Error::Invalid("BBOX takes numbers".into())),
            })
            .collect::<Result<_>>()?;
        let bounds = match numbers[..] {
            [west, south, east, north] | [west, south, _, east, north, _] => [west, south, east, north],
            _ => return Err(Error::Invalid("BBOX takes 4 or 6 numbers".into())),
        };
        let [west, south, east, north] = bounds;
        if ![west, east].iter().all(|x| (-180.0..=180.0).contains(x)) {
            return Err(Error::Invalid("BBOX longitudes must be between -180 and 180".into()));
        }
        if ![south, north].iter().all(|y| (-90.0..=90.0).contains(y)) {
            return Err(Error::Invalid("BBOX latitudes must be between -90 and 90".into()));
        }
        if south > north {
            return Err(Error::Invalid(format!("BBOX: south {south} is north of north {north}")));
        }
        let ring = |w: f64, e: f64| json!([[[w, south], [e, south], [e, north], [w, north], [w, south]]]);
        let geometry = if west <= east {
            json!({"type": "Polygon", "coordinates": ring(west, east)})
        } else {
            json!({"type": "MultiPolygon", "coordinates": [ring(west, 180.0), ring(-180.0, east)]})
        };
        let encoded = encode_geojson(&geometry).map_err(|e| Error::Invalid(format!("BBOX: {e}")))?;
        Ok(Region {
            wkb: encoded.wkb,
            bounds,
            rectangle: (west <= east).then_some(bounds),
        })
    }

    /// The WKB as a bound BLOB.
    pub(crate) fn sql(&self) -> Sql {
        Sql::param(Value::Blob(self.wkb.clone()), "BLOB")
    }
}

fn number(value: f64) -> Sql {
    Sql::param(Value::Double(value), "DOUBLE")
}

/// Items whose bbox meets `bounds`; either box may cross the antimeridian.
pub(crate) fn bbox_overlap([west, south, east, north]: Bbox) -> Sql {
    let ranges = if west <= east {
        vec![(west, east)]
    } else {
        vec![(west, 180.0), (-180.0, east)]
    };
    let longitude: Vec<Sql> = ranges
        .into_iter()
        .map(|(low, high)| {
            let (low, high) = (number(low), number(high));
            Sql::template(
                &[
                    "((bbox_xmin <= bbox_xmax AND bbox_xmin <= ",
                    " AND bbox_xmax >= ",
                    ") OR (bbox_xmin > bbox_xmax AND (bbox_xmin <= ",
                    " OR bbox_xmax >= ",
                    ")))",
                ],
                &[&high, &low, &high, &low],
            )
        })
        .collect();
    Sql::template(
        &["(", " AND bbox_ymin <= ", " AND bbox_ymax >= ", ")"],
        &[&Sql::join(&longitude, " OR "), &number(north), &number(south)],
    )
}

/// Items whose bbox lies inside a rectangle (which does not cross the antimeridian).
pub(crate) fn bbox_inside([west, south, east, north]: Bbox) -> Sql {
    Sql::template(
        &[
            "(bbox_xmin <= bbox_xmax AND bbox_xmin >= ",
            " AND bbox_xmax <= ",
            " AND bbox_ymin >= ",
            " AND bbox_ymax <= ",
            ")",
        ],
        &[&number(west), &number(east), &number(south), &number(north)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bbox(text: &str) -> Result<Region> {
        let expr: Expr = text.parse().unwrap();
        let Expr::Operation { args, .. } = expr else {
            panic!("{text}")
        };
        Region::of(&args[1])
    }

    #[test]
    fn bbox_literals_are_checked_like_the_bbox_parameter() {
        assert!(bbox("S_INTERSECTS(geometry, BBOX(170, -20, -170, -10))").is_ok());
        assert_eq!(
            bbox("S_INTERSECTS(geometry, BBOX(0, 0, 1, 1))").unwrap().rectangle,
            Some([0.0, 0.0, 1.0, 1.0])
        );
        for bad in [
            "BBOX(0, 0, 400, 1)",
            "BBOX(0, -91, 1, 1)",
            "BBOX(0, 2, 1, 1)",
            "BBOX(0, 0, 1)",
        ] {
            let error = bbox(&format!("S_INTERSECTS(geometry, {bad})"));
            assert!(matches!(error, Err(Error::Invalid(_))), "{bad}");
        }
    }
}
